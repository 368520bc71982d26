"""OAuth 2.0 client credentials with a JWT client assertion (NetSuite's M2M flow)."""

from __future__ import annotations

import base64
import json
from typing import Any

import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from simulators.netsuite.vendor import DEMO_ACCOUNT, DEMO_SETTINGS

TOKEN_PATH = "/services/rest/auth/oauth2/v1/token"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def assertion(key: rsa.RSAPrivateKey, kid: str, claims: dict[str, Any]) -> str:
    head = _b64(json.dumps({"alg": "PS256", "typ": "JWT", "kid": kid}).encode())
    body = _b64(json.dumps(claims).encode())
    signature = key.sign(f"{head}.{body}".encode(),
                         padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
                         hashes.SHA256())
    return f"{head}.{body}.{_b64(signature)}"


def test_client_assertion_grant(start_fake: Any) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    fake = start_fake("netsuite", controlled_clock=True)
    fake.sim.tenants.declare(DEMO_ACCOUNT, {**DEMO_SETTINGS, "certificates": {"cert-1": pem}})
    url = fake.url + TOKEN_PATH
    now = int(fake.sim.clock.now())
    claims = {"iss": DEMO_SETTINGS["client_id"], "scope": ["rest_webservices"], "aud": url,
              "iat": now, "exp": now + 3600}

    def grant(jwt: str) -> requests.Response:
        return requests.post(url, data={"grant_type": "client_credentials",
                                        "client_assertion_type": ASSERTION_TYPE,
                                        "client_assertion": jwt})

    issued = grant(assertion(key, "cert-1", claims))
    assert issued.status_code == 200, issued.text
    token = issued.json()["access_token"]
    customers = requests.get(f"{fake.url}/services/rest/record/v1/customer",
                             headers={"Authorization": f"Bearer {token}"})
    assert customers.status_code == 200 and customers.json()["totalResults"] == 0

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = grant(assertion(other, "cert-1", claims))
    assert forged.status_code == 401 and forged.json() == {"error": "invalid_client"}
    assert grant(assertion(key, "unknown-kid", claims)).status_code == 401
    stale = grant(assertion(key, "cert-1", {**claims, "iat": now - 7200, "exp": now - 3600}))
    assert stale.status_code == 400 and stale.json() == {"error": "invalid_grant"}
    wrong = requests.post(url, data={"grant_type": "password"})
    assert wrong.json() == {"error": "unsupported_grant_type"}
    garbage = requests.get(f"{fake.url}/services/rest/record/v1/customer",
                           headers={"Authorization": "Bearer not-a-token"})
    assert garbage.status_code == 401
    assert 'error="invalid_token"' in garbage.headers["WWW-Authenticate"]
