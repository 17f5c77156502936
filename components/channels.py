"""The REST channel, with one promise added: the parent never gets silence or an error dump.

Same URL and JSON as Rasa's own REST channel (POST /webhooks/rest/webhook with
{"sender", "message"}). If handling the message fails, or produces no reply at all
(the action server is down, say), the reply is a kind message with the helpline's contact.
Message text is never written to the logs.
"""

from __future__ import annotations

import asyncio
import logging

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from knowledge.db import database_url, make_engine
from knowledge.outage_helpline import OutageHelpline, outage_reply

logger = logging.getLogger(__name__)


_helpline: OutageHelpline | None = None


def no_reply_message() -> dict:
    """The kind reply with the helpline: from the knowledge base ($LOCAL_OFFER_DATABASE_URL) while it answers,
    else the last one read, else the seed file (see knowledge/outage_helpline.py)."""
    global _helpline
    if _helpline is None:
        _helpline = OutageHelpline(make_engine(database_url()))
    return {"recipient_id": "", "text": outage_reply(_helpline.contact())}


class CaringRestInput(RestInput):
    @classmethod
    def name(cls) -> str:
        return "rest"

    def blueprint(self, on_new_message) -> Blueprint:
        webhook = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            sender_id = await self._extract_sender(request)
            text = self._extract_message(request)
            if not sender_id or not isinstance(text, str):
                return response.json({"error": "Send JSON with 'sender' and 'message' (text)."}, status=400)
            collector = CollectingOutputChannel()
            message = UserMessage(text, collector, sender_id, input_channel=self.name(), metadata=self.get_metadata(request))
            failed = False
            try:
                await on_new_message(message)
            except asyncio.CancelledError:
                logger.error("message handling timed out")
                failed = True
            except Exception as error:  # noqa: BLE001 - the parent must always get an answer
                logger.error("message handling failed: %s", type(error).__name__)
                failed = True
            if not collector.messages:
                # The kind words either way; 503 when this server failed (a lock another server holds, a timeout),
                # so the web app tries another Rasa server before giving the parent the same words itself.
                return response.json([{**no_reply_message(), "recipient_id": sender_id}], status=503 if failed else 200)
            return response.json(collector.messages)

        return webhook
