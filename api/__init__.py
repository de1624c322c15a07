"""The service: FastAPI app, settings, storage, auth, jobs, CLI.

`api/` is thin: it parses, authorises, calls a library, stores and answers.
"""

__all__ = ["create_app"]


def __getattr__(name: str) -> object:
    # Lazy so that `import api.settings` does not pull in FastAPI and every library.
    if name == "create_app":
        from api.app import create_app

        return create_app
    raise AttributeError(name)
