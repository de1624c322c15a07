"""Dư luận xã hội: trends by day, by topic and by place, alerts with their posts and the review queue.

The page is a shell: ``social.js`` reads ``/v1/social/summary``, ``/v1/social/alerts`` and (for those who may
label) ``/v1/social/review``, and labels posts with ``POST /v1/social/labels``.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.auth import ANALYST
from api.web.layout import PageUser, render

router = APIRouter(include_in_schema=False)

#: The labels of the sentiment model, as a person reads them, in the order the buttons show them.
LABELS = {"positive": "Tích cực", "neutral": "Trung tính", "negative": "Tiêu cực"}


@router.get("/du-luan", response_class=HTMLResponse)
def social_page(request: Request, user: PageUser) -> HTMLResponse:
    """Dư luận xã hội for every role; the label buttons for analysts and admins (the label route's roles)."""
    from social_listening.topics import TOPIC_NAMES

    return render(
        request,
        user,
        "social.html",
        "/du-luan",
        {
            "can_label": user.user.role in ANALYST,
            "labels": LABELS,
            "topic_names": json.dumps(dict(TOPIC_NAMES), ensure_ascii=False),
            "label_names": json.dumps(LABELS, ensure_ascii=False),
        },
    )
