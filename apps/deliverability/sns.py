"""Amazon SNS message signatures, checked by us (django-anymail 15.2 does not: its
AmazonSESBaseWebhookView.validate_request ends with "Future: Verify SNS message signature").

A message is trusted only when
- its TopicArn is one we subscribed (AMAZON_SES_TOPIC_ARNS): anyone can point their own SNS
  topic at our URL and get validly signed messages, so the signature alone proves nothing;
- its signing certificate comes over HTTPS from an SNS host (`sns.<region>.amazonaws.com`,
  AMAZON_SNS_CERT_HOST) and the signature (SignatureVersion 1: RSA-SHA1, 2: RSA-SHA256,
  PKCS#1 v1.5) holds over SNS's canonical string of the signed fields;
- its Timestamp is recent (AMAZON_SNS_MAX_AGE_SECONDS): a captured message cannot be replayed
  later. (Within that window a replay is caught by its MessageId: apps.deliverability.webhooks.)

Certificates are cached in the process (SNS signs with few, long-lived ones); a certificate is
fetched only from a URL that passes the host check, without redirects, with a size cap.
"""

import base64
import logging
import re
import threading
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import requests
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from django.conf import settings

log = logging.getLogger(__name__)

# The fields SNS signs, in the order it signs them (byte order of their names).
SIGNED_FIELDS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token",
                                 "TopicArn", "Type"),
    "UnsubscribeConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token",
                                "TopicArn", "Type"),
}
OPTIONAL_FIELDS = {"Subject"}  # signed only when the notification has one
HASHES = {"1": hashes.SHA1, "2": hashes.SHA256}
CERT_MAX_BYTES = 16_384
CERT_CACHE_SECONDS = 86_400
FETCH_TIMEOUT_SECONDS = 5


class SnsRefused(ValueError):
    """Not a message we can trust: the reason says why (logged, never shown in detail)."""


def verify(message: dict) -> None:
    """Raise SnsRefused unless `message` (the parsed body SNS posted) is authentic, from one of
    our topics and recent."""
    kind = message.get("Type")
    if kind not in SIGNED_FIELDS:
        raise SnsRefused(f"unknown SNS message type {kind!r}")
    if message.get("TopicArn") not in settings.AMAZON_SES_TOPIC_ARNS:
        raise SnsRefused(f"topic {message.get('TopicArn')!r} is not one of ours")
    digest = HASHES.get(str(message.get("SignatureVersion")))
    if digest is None:
        raise SnsRefused(f"unknown SignatureVersion {message.get('SignatureVersion')!r}")
    key = signing_key(str(message.get("SigningCertURL", "")))
    try:
        signature = base64.b64decode(str(message.get("Signature", "")), validate=True)
        key.verify(signature, canonical(message), padding.PKCS1v15(), digest())
    except (InvalidSignature, ValueError) as exc:
        raise SnsRefused("the signature does not match the message") from exc
    _check_age(message)


def canonical(message: dict) -> bytes:
    """SNS's string to sign: each signed field's name and value, one per line."""
    lines = []
    for name in SIGNED_FIELDS[message["Type"]]:
        if name in OPTIONAL_FIELDS and message.get(name) is None:
            continue
        value = message.get(name)
        if not isinstance(value, str):
            raise SnsRefused(f"the signed field {name} is missing")
        lines += [name, value]
    return ("\n".join(lines) + "\n").encode()


def _check_age(message: dict) -> None:
    try:
        stamp = datetime.fromisoformat(str(message.get("Timestamp")).replace("Z", "+00:00"))
    except ValueError as exc:
        raise SnsRefused("the Timestamp is not a date") from exc
    if stamp.tzinfo is None:
        raise SnsRefused("the Timestamp has no time zone")
    age = datetime.now(UTC) - stamp
    if age > timedelta(seconds=settings.AMAZON_SNS_MAX_AGE_SECONDS):
        raise SnsRefused(f"the message is {int(age.total_seconds())} s old: a replay")
    if age < timedelta(minutes=-5):
        raise SnsRefused("the Timestamp is in the future")


def sns_url(url: str) -> bool:
    """An https URL on an SNS host (AMAZON_SNS_CERT_HOST, matched against host[:port]) with no
    user part: the only place we fetch a certificate from or confirm a subscription at."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return (parts.scheme == "https" and "@" not in parts.netloc
            and re.fullmatch(settings.AMAZON_SNS_CERT_HOST, parts.netloc.lower()) is not None)


_cache: dict[str, tuple[float, rsa.RSAPublicKey]] = {}
_fetch_lock = threading.Lock()


def signing_key(url: str) -> rsa.RSAPublicKey:
    """The public key of the certificate at `url`, cached for a day."""
    if not (sns_url(url) and urlsplit(url).path.endswith(".pem")):
        raise SnsRefused(f"the signing certificate URL {url!r} is not an SNS certificate")
    cached = _cache.get(url)
    if cached and time.monotonic() - cached[0] < CERT_CACHE_SECONDS:
        return cached[1]
    # One fetch at a time per process: a burst of first requests on several threads fetches
    # the certificate once, the others find it cached.
    with _fetch_lock:
        cached = _cache.get(url)
        if cached and time.monotonic() - cached[0] < CERT_CACHE_SECONDS:
            return cached[1]
        key = _fetch_key(url)
        if len(_cache) > 32:
            _cache.clear()
        _cache[url] = (time.monotonic(), key)
    return key


def _fetch_key(url: str) -> rsa.RSAPublicKey:
    try:
        response = requests.get(url, timeout=FETCH_TIMEOUT_SECONDS, allow_redirects=False,
                                stream=True, verify=settings.AMAZON_SNS_CA_FILE or True)
        body = response.raw.read(CERT_MAX_BYTES + 1, decode_content=True)
        response.close()
    except requests.RequestException as exc:
        raise SnsRefused(f"the signing certificate could not be fetched: {exc}") from exc
    if response.status_code != 200 or len(body) > CERT_MAX_BYTES:
        raise SnsRefused(f"the signing certificate URL answered {response.status_code}")
    try:
        cert = x509.load_pem_x509_certificate(body)
    except ValueError as exc:
        raise SnsRefused("the signing certificate is not a PEM certificate") from exc
    if not cert.not_valid_before_utc <= datetime.now(UTC) <= cert.not_valid_after_utc:
        raise SnsRefused("the signing certificate is not valid now")
    key = cert.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise SnsRefused("the signing certificate's key is not RSA")
    return key


def confirm_subscription(message: dict) -> None:
    """Visit the SubscribeURL of a verified SubscriptionConfirmation for one of our topics:
    only an SNS host's ConfirmSubscription for that very topic, without redirects."""
    url = str(message.get("SubscribeURL", ""))
    query = parse_qs(urlsplit(url).query) if sns_url(url) else {}
    if (query.get("Action") != ["ConfirmSubscription"]
            or query.get("TopicArn") != [message.get("TopicArn")]):
        raise SnsRefused(f"the SubscribeURL {url!r} is not an SNS confirmation for this topic")
    try:
        response = requests.get(url, timeout=FETCH_TIMEOUT_SECONDS, allow_redirects=False,
                                verify=settings.AMAZON_SNS_CA_FILE or True)
    except requests.RequestException as exc:
        raise SnsRefused(f"the subscription could not be confirmed: {exc}") from exc
    if response.status_code != 200:
        raise SnsRefused(f"SNS answered {response.status_code} to the confirmation")
