"""webhooks.signing: Standard Webhooks signatures and delivery headers."""

from __future__ import annotations

import base64
import hashlib
import hmac

from webhooks import signing

# The test vector of the Standard Webhooks reference libraries.
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
TIMESTAMP = 1614265330
BODY = '{"test": 2432232314}'
EXPECTED = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_signature_matches_the_reference_vector():
    assert signing.signature(SECRET, msg_id=MSG_ID, timestamp=TIMESTAMP, body=BODY) == EXPECTED


def test_signature_covers_id_timestamp_and_body():
    """Changing any signed part changes the signature (a replay with a new id fails)."""
    base = {"msg_id": MSG_ID, "timestamp": TIMESTAMP, "body": BODY}
    for change in ({"msg_id": "msg_other"}, {"timestamp": TIMESTAMP + 1},
                   {"body": '{"test": 1}'}):
        assert signing.signature(SECRET, **{**base, **change}) != EXPECTED


def test_a_receiver_can_verify_with_the_decoded_secret():
    """The key is the base64 secret after `whsec_`, not the prefixed string."""
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    mac = hmac.new(key, f"{MSG_ID}.{TIMESTAMP}.{BODY}".encode(), hashlib.sha256).digest()
    assert EXPECTED == "v1," + base64.b64encode(mac).decode()


def test_headers_carry_one_signature_per_secret_during_rotation():
    other = "whsec_" + base64.b64encode(b"another secret of 24 byt").decode()
    headers = signing.headers([SECRET, other], msg_id=MSG_ID, timestamp=TIMESTAMP, body=BODY)
    assert headers["webhook-id"] == MSG_ID
    assert headers["webhook-timestamp"] == str(TIMESTAMP)
    assert headers["Content-Type"] == "application/json"
    first, second = headers["webhook-signature"].split(" ")
    assert first == EXPECTED
    assert second == signing.signature(other, msg_id=MSG_ID, timestamp=TIMESTAMP, body=BODY)
    assert second != first


def test_headers_with_one_secret_have_one_signature():
    headers = signing.headers([SECRET], msg_id=MSG_ID, timestamp=TIMESTAMP, body=BODY)
    assert headers["webhook-signature"] == EXPECTED
