"""One store per capability: each owns its SQL and its row <-> library-value mappings, written once.

Routes, job handlers and CLI commands call these functions inside a session or transaction they open
(``services.db.session()`` / ``services.db.transaction()``); none of them writes SQL of its own.
"""
