"""Chat with the running assistant from the terminal, over its REST channel.

    .venv/bin/python scripts/chat.py [--url http://127.0.0.1:5005]

Buttons are shown numbered: type the number to press one. Ctrl-D or 'quit' ends.
Results come as plain text (the same content the web widget shows as cards); **bold** is shown
in bold on a terminal.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import urllib.request
import uuid


def send(url: str, sender: str, text: str) -> list[dict]:
    body = json.dumps({"sender": sender, "message": text}).encode()
    request = urllib.request.Request(f"{url}/webhooks/rest/webhook", body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"[]")


def plain(text: str, bold: bool) -> str:
    """**bold** as terminal bold (or without the stars when not on a terminal)."""
    return re.sub(r"\*\*(.+?)\*\*", "\033[1m\\1\033[0m" if bold else r"\1", text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:5005")
    args = parser.parse_args()
    sender = f"terminal-{uuid.uuid4().hex[:8]}"
    buttons: list[dict] = []
    print("Type a message (Ctrl-D or 'quit' to stop).")
    while True:
        try:
            text = input("you> ").strip()
        except EOFError:
            return 0
        if text.lower() in {"quit", "exit"}:
            return 0
        if text.isdigit() and 0 < int(text) <= len(buttons):
            text = buttons[int(text) - 1]["payload"]
        buttons = []
        for message in send(args.url, sender, text):
            if message.get("text"):
                print("bot>", plain(message["text"], sys.stdout.isatty()).replace("\n", "\n     "))
            for button in message.get("buttons") or []:
                buttons.append(button)
                print(f"     [{len(buttons)}] {button['title']}")


if __name__ == "__main__":
    sys.exit(main())
