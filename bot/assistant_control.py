"""Pausing and resuming the assistant for one conversation, through Rasa's HTTP API (with its token).

While a person is in the chat the conversation is paused (Rasa's `pause` event): Rasa keeps any
message it is sent but predicts no action, so the assistant stays silent. `resume` hands it back.
The web app also stops forwarding the parent's messages to Rasa while a person is in the chat
(the REST channel would otherwise answer silence with its fallback), so a failure here is logged
and the live chat carries on.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import aiohttp
from aiohttp import web

from knowledge import helpline

logger = logging.getLogger(__name__)


def rasa_sender(conversation_id_hex: str) -> str:
    """The widget's conversation id (32 hex digits) as the sender id Rasa knows."""
    return "web-" + conversation_id_hex


async def _append_event(app: web.Application, sender_id: str, event: str) -> bool:
    settings = app["settings"]
    params = {"token": settings.rasa_token} if settings.rasa_token else None
    url = f"{settings.rasa_url}/conversations/{sender_id}/tracker/events"
    try:
        async with app["rasa_http"].post(url, params=params, json={"event": event}) as reply:
            if reply.status >= 400:
                logger.error("the assistant refused %s (%s)", event, reply.status)
                return False
            return True
    except (aiohttp.ClientError, asyncio.TimeoutError) as error:
        logger.error("the assistant could not be reached to %s (%s)", event, type(error).__name__)
        return False


async def pause(app: web.Application, sender_id: str) -> bool:
    return await _append_event(app, sender_id, "pause")


async def resume(app: web.Application, sender_id: str) -> bool:
    return await _append_event(app, sender_id, "resume")


async def time_out_waiting(app: web.Application) -> None:
    """Parents nobody claimed within the set time leave the queue (to be offered a call-back); resume them."""
    wait = timedelta(seconds=app["settings"].handoff_wait_seconds)
    with app["kb"].sessions.begin() as session:
        senders = helpline.time_out_waiting(session, wait)
    for sender in senders:
        await resume(app, sender)
