"""OAuth 2.0 client credentials (machine to machine): `POST /services/rest/auth/oauth2/v1/token`.

NetSuite's M2M flow (vendor facts §3.2): `grant_type=client_credentials`,
`client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer` and
`client_assertion` = a JWT whose header `kid` is the certificate ID of the mapping and which is
signed with that certificate's private key (RS256/384/512, PS256/384/512, ES256/384/512); claims
`iss` = client ID, `aud` = the token endpoint URL, `scope`, `iat`, `exp` (at most one hour later).
The simulator checks all of that against `settings.certificates` ({kid: PEM public key or
certificate}). It also accepts `client_id:client_secret` by HTTP Basic (a simulator convenience
that NetSuite offers only to the authorization-code grant; see the README).

Access tokens are JWTs (opaque to clients), valid 3600 s of simulated time; each is recorded in
the tenant's `oauth2.tokens` collection (by `jti`), which is what the API checks.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import Any
from urllib.parse import parse_qsl

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from starlette.requests import Request
from starlette.responses import JSONResponse

from simulators.core.bodies import decode_json
from simulators.core.tenancy import Tenant

TOKEN_PATH = "/services/rest/auth/oauth2/v1/token"
ACCESS_TOKEN_TTL = 3600
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MAX_ASSERTION_LIFETIME = 3600
CLOCK_SKEW = 300
SCOPES = {"rest_webservices", "restlets", "suite_analytics"}
HASHES = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}


class OAuth2Error(Exception):
    def __init__(self, error: str, status: int = 400) -> None:
        super().__init__(error)
        self.error = error
        self.status = status

    def response(self) -> JSONResponse:
        return JSONResponse({"error": self.error}, self.status)


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def integrations(settings: dict[str, Any]) -> list[dict[str, Any]]:
    """The integration records of an account: the flat settings, then `integrations: [...]`."""
    flat = {k: settings[k] for k in ("consumer_key", "consumer_secret", "token_id",
                                     "token_secret", "client_id", "client_secret",
                                     "certificates", "tokens") if k in settings}
    return ([flat] if flat else []) + list(settings.get("integrations") or [])


def _client(tenants: list[Tenant], client_id: str) -> tuple[Tenant, dict[str, Any]]:
    for tenant in tenants:
        for integration in integrations(tenant.settings):
            if integration.get("client_id") == client_id:
                return tenant, integration
    raise OAuth2Error("invalid_client", 401)


def _signing_key(seed: int) -> bytes:
    return hashlib.sha256(f"landscape-netsuite-oauth2:{seed}".encode()).digest()


async def token(request: Request, sim: Any, tenants: list[Tenant]) -> JSONResponse:
    try:
        return JSONResponse(_issue(request, sim, tenants, (await request.body()).decode()))
    except OAuth2Error as error:
        return error.response()
    except UnicodeDecodeError:
        return OAuth2Error("invalid_request").response()


def _issue(request: Request, sim: Any, tenants: list[Tenant], body: str) -> dict[str, Any]:
    form = dict(parse_qsl(body, keep_blank_values=True))
    if form.get("grant_type") != "client_credentials":
        raise OAuth2Error("unsupported_grant_type" if form.get("grant_type")
                          else "invalid_request")
    now = sim.clock.now()
    basic = _basic(request.headers.get("authorization", ""))
    if basic is not None:
        tenant, integration = _client(tenants, basic[0])
        if not hmac.compare_digest(str(integration.get("client_secret", "")), basic[1]):
            raise OAuth2Error("invalid_client", 401)
        scope = form.get("scope", "rest_webservices")
    elif form.get("client_assertion_type") == ASSERTION_TYPE and form.get("client_assertion"):
        tenant, integration, scope = _check_assertion(form["client_assertion"], tenants, now)
    else:
        raise OAuth2Error("invalid_request")
    scopes = scope.replace(",", " ").split()
    if not scopes or not set(scopes) <= SCOPES:
        raise OAuth2Error("invalid_scope")
    jti = sim.seeds.token(f"oauth2:{tenant.id}", 24)
    claims = {"iss": "https://system.netsuite.com", "sub": f"3;{tenant.id}",
              "aud": [integration["client_id"], tenant.id], "scope": scopes,
              "iat": int(now), "exp": int(now) + ACCESS_TOKEN_TTL, "jti": jti,
              "account": tenant.id}
    tokens = tenant.by_age("oauth2.tokens", "expires_at")
    tokens.drop_before(now)  # expired tokens are of no use to anyone: keep memory bounded
    tokens.add(jti, {"client_id": integration["client_id"], "issued_at": now,
                     "expires_at": now + ACCESS_TOKEN_TTL, "scope": scopes})
    return {"access_token": _sign(claims, _signing_key(sim.seed)),
            "expires_in": str(ACCESS_TOKEN_TTL), "token_type": "bearer"}


def _sign(claims: dict[str, Any], key: bytes) -> str:
    head = b64url(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "landscape"}).encode())
    body = b64url(json.dumps(claims, separators=(",", ":")).encode())
    mac = hmac.new(key, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64url(mac)}"


def _basic(header: str) -> tuple[str, str] | None:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(value.strip()).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise OAuth2Error("invalid_client", 401) from None
    return user, password


def _check_assertion(assertion: str, tenants: list[Tenant],
                     now: float) -> tuple[Tenant, dict[str, Any], str]:
    try:
        head_b64, body_b64, sig_b64 = assertion.split(".")
        header = decode_json(b64url_decode(head_b64))  # bounded: nesting is refused
        claims = decode_json(b64url_decode(body_b64))
        signature = b64url_decode(sig_b64)
    except (ValueError, binascii.Error):
        raise OAuth2Error("invalid_request") from None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise OAuth2Error("invalid_request")
    tenant, integration = _client(tenants, str(claims.get("iss", "")))
    pem = (integration.get("certificates") or {}).get(str(header.get("kid", "")))
    if pem is None:
        raise OAuth2Error("invalid_client", 401)
    if not _verify(str(header.get("alg", "")), pem, f"{head_b64}.{body_b64}".encode(),
                   signature):
        raise OAuth2Error("invalid_client", 401)
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if not any(isinstance(a, str) and a.split("?")[0].endswith(TOKEN_PATH) for a in audiences):
        raise OAuth2Error("invalid_grant")
    iat, exp = claims.get("iat"), claims.get("exp")
    if (not isinstance(iat, int | float) or not isinstance(exp, int | float)
            or exp <= now or iat > now + CLOCK_SKEW or exp - iat > MAX_ASSERTION_LIFETIME):
        raise OAuth2Error("invalid_grant")
    scope = claims.get("scope", "rest_webservices")
    return tenant, integration, " ".join(scope) if isinstance(scope, list) else str(scope)


def _verify(alg: str, pem: str, signed: bytes, signature: bytes) -> bool:
    family, bits = alg[:2], alg[2:]
    if family not in ("RS", "PS", "ES") or bits not in HASHES:
        return False
    data = pem.encode()
    try:
        key = (x509.load_pem_x509_certificate(data).public_key() if b"CERTIFICATE" in data
               else serialization.load_pem_public_key(data))
        digest = HASHES[bits]()
        if family == "ES" and isinstance(key, ec.EllipticCurvePublicKey):
            half = len(signature) // 2
            der = utils.encode_dss_signature(int.from_bytes(signature[:half], "big"),
                                             int.from_bytes(signature[half:], "big"))
            key.verify(der, signed, ec.ECDSA(digest))
        elif family in ("RS", "PS") and isinstance(key, rsa.RSAPublicKey):
            pad = (padding.PKCS1v15() if family == "RS" else
                   padding.PSS(mgf=padding.MGF1(HASHES[bits]()), salt_length=padding.PSS.AUTO))
            key.verify(signature, signed, pad, digest)
        else:
            return False
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def bearer_claims(token_text: str, seed: int) -> dict[str, Any] | None:
    """The claims of an access token this fake issued (signature checked), else None."""
    try:
        head, body, mac = token_text.split(".")
        expected = hmac.new(_signing_key(seed), f"{head}.{body}".encode(),
                            hashlib.sha256).digest()
        if not hmac.compare_digest(expected, b64url_decode(mac)):
            return None
        claims = json.loads(b64url_decode(body))
    except (ValueError, binascii.Error):
        return None
    return claims if isinstance(claims, dict) else None
