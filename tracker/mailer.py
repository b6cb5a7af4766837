"""Send the digest by SMTP, configured in the `[mail]` table.

The password is never in the config file: only the name of the environment
variable that holds it (`password_env`), so the file can be world-readable.
"""

from __future__ import annotations

import os
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from .errors import KtrackError


def build_message(mail: dict, subject: str, text: str, html: str | None = None) -> EmailMessage:
    """Return a text (+ HTML alternative) message from `mail["from"]` to `mail["to"]`."""
    sender = mail.get("from")
    recipients = mail.get("to") or []
    if isinstance(recipients, str):
        recipients = [recipients]
    if not sender:
        raise KtrackError("[mail] from is not set: cannot send the digest")
    if not recipients:
        raise KtrackError("[mail] to is empty: cannot send the digest")
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1].strip("> ") or None)
    msg.set_content(text)
    if html:
        msg.add_alternative(html, subtype="html")
    return msg


def send_message(mail: dict, msg: EmailMessage, *, timeout: float = 30) -> None:
    """Deliver `msg` through `mail["host"]:mail["port"]`, with STARTTLS and login when configured."""
    host, port = mail.get("host") or "localhost", int(mail.get("port") or 25)
    where = f"SMTP {host}:{port}"
    password = None
    if mail.get("username"):
        env_name = mail.get("password_env") or "KTRACK_SMTP_PASSWORD"
        password = os.environ.get(env_name)
        if password is None:
            raise KtrackError(f"[mail] username is set but ${env_name} is empty: export the SMTP password there")
    try:
        with smtplib.SMTP(host, port, timeout=timeout) as smtp:
            if mail.get("starttls"):
                smtp.starttls(context=ssl.create_default_context(cafile=mail.get("cafile") or None))
            if password is not None:
                smtp.login(mail["username"], password)
            smtp.send_message(msg)
    except smtplib.SMTPAuthenticationError as exc:
        raise KtrackError(f"{where}: login refused for {mail.get('username')}: {exc.smtp_code}") from None
    except smtplib.SMTPException as exc:
        raise KtrackError(f"{where}: {type(exc).__name__}: {exc}") from None
    except (OSError, ssl.SSLError) as exc:
        raise KtrackError(f"{where}: cannot send mail: {exc}") from None
