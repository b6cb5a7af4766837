"""`ktrack digest --mail` against a real local SMTP server (aiosmtpd)."""

from __future__ import annotations

import socket
import ssl
import subprocess
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from tracker.errors import KtrackError


class Inbox:
    def __init__(self):
        self.envelopes = []
        self.logins = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        self.logins.append((auth_data.login.decode(), auth_data.password.decode()))
        return AuthResult(success=auth_data.password == b"s3cret", handled=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, authenticator=inbox.authenticate, auth_require_tls=False)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def app_with_config(tmp_path, monkeypatch, body: str):
    from tracker.app import App

    config = tmp_path / "config.toml"
    config.write_text(body)
    monkeypatch.delenv("KTRACK_CONFIG", raising=False)
    return App(db_path=tmp_path / "k.db", config_path=config)


def run_cli(app, *args):
    from click.testing import CliRunner

    from tracker.cli import build_cli

    return CliRunner().invoke(build_cli(app), ["--db", str(app.db_path), *args], obj=app)


def seed(app):
    app.db["releases"].insert({"version": "5.10.1", "kind": "stable", "sort_key": "x", "released_at": "2020-12-14T18:33:14+00:00", "change_count": 12})


def test_digest_mail_delivers_text_and_html(tmp_path, monkeypatch, smtp_server):
    inbox, port = smtp_server
    app = app_with_config(tmp_path, monkeypatch, f'''
[site]
base_url = "https://kt.example.org/"
[mail]
host = "127.0.0.1"
port = {port}
from = "ktrack@example.org"
to = ["reader@example.org", "second@example.org"]
''')
    seed(app)
    result = run_cli(app, "digest", "--mail")
    assert result.exit_code == 0, result.output
    assert len(inbox.envelopes) == 1
    envelope = inbox.envelopes[0]
    assert envelope.rcpt_tos == ["reader@example.org", "second@example.org"]
    msg = message_from_bytes(envelope.content, policy=policy.default)
    assert msg["Subject"] == "[kernel-tracker] Week 2020-W51: December 14–20, 2020"
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert "The current stable kernel is 5.10.1, released on December 14, with 12 fixes." in text
    assert 'href="https://kt.example.org/releases/5.10.1.html"' in html


def test_digest_mail_logs_in_with_password_from_env(tmp_path, monkeypatch, smtp_server):
    inbox, port = smtp_server
    app = app_with_config(tmp_path, monkeypatch, f'''
[mail]
host = "127.0.0.1"
port = {port}
from = "ktrack@example.org"
to = ["reader@example.org"]
username = "kt"
password_env = "KT_TEST_SMTP_PW"
''')
    seed(app)
    monkeypatch.delenv("KT_TEST_SMTP_PW", raising=False)
    result = run_cli(app, "digest", "--mail")
    assert result.exit_code == 1 and "$KT_TEST_SMTP_PW" in result.output
    assert inbox.envelopes == []

    monkeypatch.setenv("KT_TEST_SMTP_PW", "wrong")
    result = run_cli(app, "digest", "--mail")
    assert result.exit_code == 1 and "login refused" in result.output and "Traceback" not in result.output

    monkeypatch.setenv("KT_TEST_SMTP_PW", "s3cret")
    result = run_cli(app, "digest", "--mail")
    assert result.exit_code == 0, result.output
    assert inbox.logins[-1] == ("kt", "s3cret") and len(inbox.envelopes) == 1


def test_mail_unreachable_server_is_one_line(tmp_path):
    from tracker.mailer import build_message, send_message

    mail = {"host": "127.0.0.1", "port": free_port(), "from": "a@example.org", "to": "b@example.org"}
    msg = build_message(mail, "s", "t")
    with pytest.raises(KtrackError) as info:
        send_message(mail, msg, timeout=5)
    assert f"SMTP 127.0.0.1:{mail['port']}" in str(info.value)


def test_mail_needs_from_and_to():
    from tracker.mailer import build_message

    with pytest.raises(KtrackError, match="from"):
        build_message({"to": ["x@example.org"]}, "s", "t")
    with pytest.raises(KtrackError, match="to"):
        build_message({"from": "x@example.org", "to": []}, "s", "t")


@pytest.fixture
def tls_files(tmp_path):
    """A self-signed certificate for 127.0.0.1, made with the openssl command."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    done = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        capture_output=True,
    )
    if done.returncode:
        pytest.skip(f"openssl could not make a test certificate: {done.stderr.decode()[:200]}")
    return cert, key


@pytest.fixture
def starttls_server(tls_files):
    cert, key = tls_files
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True)
    controller.start()
    try:
        yield inbox, port, cert
    finally:
        controller.stop()


def test_digest_mail_over_starttls_verifies_the_server(tmp_path, monkeypatch, starttls_server):
    inbox, port, cert = starttls_server
    body = f'''
[mail]
host = "127.0.0.1"
port = {port}
starttls = true
from = "ktrack@example.org"
to = ["reader@example.org"]
'''
    # Without the server's CA the certificate is refused: one line, nothing sent.
    app = app_with_config(tmp_path, monkeypatch, body)
    seed(app)
    result = run_cli(app, "digest", "--mail")
    assert result.exit_code == 1 and "CERTIFICATE_VERIFY_FAILED" in result.output
    assert "Traceback" not in result.output and inbox.envelopes == []

    app = app_with_config(tmp_path, monkeypatch, body + f'cafile = "{cert}"\n')
    result = run_cli(app, "digest", "--mail")
    assert result.exit_code == 0, result.output
    assert len(inbox.envelopes) == 1


def test_starttls_server_refuses_plain_mail(tmp_path, monkeypatch, starttls_server):
    inbox, port, _ = starttls_server
    app = app_with_config(tmp_path, monkeypatch, f'''
[mail]
host = "127.0.0.1"
port = {port}
from = "ktrack@example.org"
to = ["reader@example.org"]
''')
    seed(app)
    result = run_cli(app, "digest", "--mail")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert inbox.envelopes == []


def test_mailed_html_uses_the_site_theme(tmp_path, monkeypatch, smtp_server):
    """[site] template_dir brands the mail as it brands the site: one theme environment (issue 15.5)."""
    inbox, port = smtp_server
    theme = tmp_path / "theme"
    theme.mkdir()
    (theme / "digest.html").write_text("<p>OUR THEME {{ edition.week }}</p>\n")
    app = app_with_config(tmp_path, monkeypatch, f'''
[site]
template_dir = "{theme}"
[mail]
host = "127.0.0.1"
port = {port}
from = "ktrack@example.org"
to = ["reader@example.org"]
''')
    seed(app)
    result = run_cli(app, "digest", "--mail")
    assert result.exit_code == 0, result.output
    msg = message_from_bytes(inbox.envelopes[0].content, policy=policy.default)
    assert "OUR THEME 2020-W51" in msg.get_body(("html",)).get_content()
    assert "The current stable kernel is 5.10.1" in msg.get_body(("plain",)).get_content()
