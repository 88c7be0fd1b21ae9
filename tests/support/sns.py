"""A stand-in for Amazon SNS's side of a webhook, made of real parts: an RSA signing key and its
self-signed certificate generated here, served by a real HTTPS server on loopback (with its own
TLS certificate, which the test trusts through AMAZON_SNS_CA_FILE), and messages signed the way
SNS signs them (SignatureVersion 1: RSA-SHA1, 2: RSA-SHA256, over the canonical string)."""

import base64
import json
import ssl
import tempfile
import threading
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import IPv4Address
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from apps.deliverability.sns import canonical

TOPIC = "arn:aws:sns:eu-west-1:123456789012:outbound-ses-events"
CERT_PATH = "/SimpleNotificationService-test.pem"


def _certificate(key: rsa.RSAPrivateKey, name: str, *, ip: str | None = None) -> x509.Certificate:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=30)))
    if ip:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(IPv4Address(ip))]), critical=False)
    return builder.sign(key, hashes.SHA256())


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


class FakeSnsHost:
    """The HTTPS host certificates are fetched from (and subscriptions confirmed at): a real
    server on 127.0.0.1, counting what was asked of it."""

    def __init__(self) -> None:
        self.signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.signing_pem = _pem(_certificate(self.signing_key, "sns.amazonaws.com"))
        self.cert_fetches = 0
        self.confirmations: list[str] = []
        self._dir = tempfile.TemporaryDirectory()
        tls_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ca_file = str(Path(self._dir.name) / "tls.pem")
        Path(self.ca_file).write_bytes(_pem(_certificate(tls_key, "127.0.0.1", ip="127.0.0.1")))
        key_file = Path(self._dir.name) / "tls.key"
        key_file.write_bytes(tls_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.ca_file, str(key_file))
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.netloc = f"127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _handler(self):
        host = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                if self.path == CERT_PATH:
                    host.cert_fetches += 1
                    body = host.signing_pem
                elif self.path.startswith("/?Action=ConfirmSubscription"):
                    host.confirmations.append(self.path)
                    body = b"<ConfirmSubscriptionResponse/>"
                else:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        return Handler

    def __enter__(self) -> "FakeSnsHost":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._dir.cleanup()

    @property
    def cert_url(self) -> str:
        return f"https://{self.netloc}{CERT_PATH}"

    def sign(self, message: dict, *, version: str = "2", cert_url: str | None = None) -> dict:
        """The message with SNS's signature fields added."""
        message = dict(message, SignatureVersion=version,
                       SigningCertURL=cert_url or self.cert_url)
        digest = hashes.SHA1() if version == "1" else hashes.SHA256()
        signature = self.signing_key.sign(canonical(message), padding.PKCS1v15(), digest)
        return message | {"Signature": base64.b64encode(signature).decode()}

    def notification(self, ses_event: dict, *, topic: str = TOPIC, message_id: str | None = None,
                     at: datetime | None = None, version: str = "2") -> dict:
        stamp = (at or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        return self.sign({
            "Type": "Notification", "MessageId": message_id or str(uuid.uuid4()),
            "TopicArn": topic, "Message": json.dumps(ses_event), "Timestamp": stamp,
        }, version=version)

    def subscription_confirmation(self, *, topic: str = TOPIC, subscribe_host: str | None = None
                                  ) -> dict:
        host = subscribe_host or self.netloc
        return self.sign({
            "Type": "SubscriptionConfirmation", "MessageId": str(uuid.uuid4()), "Token": "t0k3n",
            "TopicArn": topic, "Message": "You have chosen to subscribe to the topic.",
            "SubscribeURL": f"https://{host}/?Action=ConfirmSubscription&TopicArn={topic}"
                            "&Token=t0k3n",
            "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        })


def ses_event(kind: str, *, recipient: str, message_id_header: str, source: str,
              bounce_type: str = "Permanent", feedback_id: str | None = None) -> dict:
    """An SES event as SES publishes it (notification format), for one recipient."""
    mail = {
        "timestamp": datetime.now(UTC).isoformat(), "source": source,
        "messageId": "0102018c-ses-" + uuid.uuid4().hex, "destination": [recipient],
        "headersTruncated": False,
        "headers": [{"name": "Message-ID", "value": message_id_header}],
        "commonHeaders": {"messageId": message_id_header, "to": [recipient]},
    }
    feedback = feedback_id or uuid.uuid4().hex
    if kind == "Bounce":
        detail = {"bounce": {"bounceType": bounce_type, "bounceSubType": "General",
                             "feedbackId": feedback, "bouncedRecipients": [
                                 {"emailAddress": recipient, "action": "failed",
                                  "status": "5.1.1",
                                  "diagnosticCode": "smtp; 550 5.1.1 user unknown"}]}}
    elif kind == "Complaint":
        detail = {"complaint": {"feedbackId": feedback, "complaintFeedbackType": "abuse",
                                "complainedRecipients": [{"emailAddress": recipient}]}}
    else:
        detail = {"delivery": {"recipients": [recipient], "smtpResponse": "250 2.0.0 OK"}}
    return {"notificationType": kind, "mail": mail, **detail}
