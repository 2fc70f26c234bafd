"""Mints the access-control test fixtures with PyJWT (an independent implementation):
trusted keys and their JWKS, a rotated JWKS, and every token of the tests, valid and hostile.

usage: python3 mint.py OUT_DIR   (writes OUT_DIR/jwks.json, jwks-rotated.json, tokens.json)
"""

import base64
import hashlib
import hmac
import json
import sys
import time

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

ISSUER = "https://issuer.example"
VISAS = "https://visas.example"
AUDIENCE = "htsget-test"
DATASETS = "https://datasets.example/"

out = sys.argv[1]
now = int(time.time())


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# The order of P-256: an ECDSA signature (r, s) and (r, N - s) both verify.
N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def with_s(token, high=False):
    """An ES256 token with its signature's s made low (canonical) or high (its twin)."""
    head, body, sig = token.split(".")
    raw = base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4))
    low = min(int.from_bytes(raw[32:], "big"), N - int.from_bytes(raw[32:], "big"))
    s = N - low if high else low
    return head + "." + body + "." + b64(raw[:32] + s.to_bytes(32, "big"))


def jwk(public, kid, alg):
    if alg == "RS256":
        key = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(public))
    elif alg == "ES256":
        key = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(public))
    else:
        key = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(public))
    key.update(kid=kid, alg=alg, use="sig")
    return key


rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
ec_key = ec.generate_private_key(ec.SECP256R1())
ed_key = ed25519.Ed25519PrivateKey.generate()
visa_key = ec.generate_private_key(ec.SECP256R1())
rogue = rsa.generate_private_key(public_exponent=65537, key_size=2048)
rotated = rsa.generate_private_key(public_exponent=65537, key_size=2048)

keys = [
    jwk(rsa_key.public_key(), "rsa-1", "RS256"),
    jwk(ec_key.public_key(), "ec-1", "ES256"),
    jwk(ed_key.public_key(), "ed-1", "EdDSA"),
    jwk(visa_key.public_key(), "visa-1", "ES256"),
]
with open(f"{out}/jwks.json", "w") as f:
    json.dump({"keys": keys}, f)
with open(f"{out}/jwks-rotated.json", "w") as f:
    json.dump({"keys": keys + [jwk(rotated.public_key(), "rsa-2", "RS256")]}, f)


def claims(**extra):
    base = {"iss": ISSUER, "sub": "alice", "aud": AUDIENCE, "iat": now, "exp": now + 3600}
    base.update(extra)
    return {k: v for k, v in base.items() if v is not None}


def token(payload, key=rsa_key, alg="RS256", kid="rsa-1", typ="JWT"):
    minted = jwt.encode(payload, key, algorithm=alg, headers={"kid": kid, "typ": typ})
    return with_s(minted) if alg == "ES256" else minted


def visa(dataset, key=visa_key, kid="visa-1", iss=VISAS, exp=None, **visa_extra):
    body = {
        "type": "ControlledAccessGrants",
        "value": DATASETS + dataset,
        "source": "https://dac.example",
        "by": "dac",
        "asserted": now - 86400,
    }
    body.update(visa_extra)
    body = {k: v for k, v in body.items() if v is not None}
    payload = {"iss": iss, "sub": "alice@visas", "iat": now, "exp": exp or now + 3600,
               "ga4gh_visa_v1": body}
    alg = "ES256" if isinstance(key, ec.EllipticCurvePrivateKey) else "RS256"
    headers = {"kid": kid, "typ": "vnd.ga4gh.visa+jwt", "jku": VISAS + "/jwks"}
    minted = jwt.encode(payload, key, algorithm=alg, headers=headers)
    return with_s(minted) if alg == "ES256" else minted


def passport(*visas, **extra):
    return token(claims(ga4gh_passport_v1=list(visas), **extra), typ="vnd.ga4gh.passport+jwt")


def unsigned(header, payload, signature=b""):
    return ".".join([b64(json.dumps(header).encode()), b64(json.dumps(payload).encode()), b64(signature)])


public_pem = rsa_key.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
hs_header = {"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}
hs_message = b64(json.dumps(hs_header).encode()) + "." + b64(json.dumps(claims(datasets=[DATASETS + "bam"])).encode())
hs256 = hs_message + "." + b64(hmac.new(public_pem, hs_message.encode(), hashlib.sha256).digest())

tokens = {
    # Valid.
    "passport": passport(visa("bam"), visa("cram"), visa("bcf")),
    "es256": token(claims(datasets=[DATASETS + "bam"]), ec_key, "ES256", "ec-1"),
    "eddsa": token(claims(datasets=DATASETS + "bam " + DATASETS + "cram"), ed_key, "EdDSA", "ed-1"),
    "no_grants": token(claims(sub="bob")),
    "restricted": token(claims(sub="carol", datasets=[DATASETS + "range-11"])),
    "short_visa": passport(visa("bam", exp=now + 2)),
    "rotated": token(claims(datasets=[DATASETS + "bam"]), rotated, "RS256", "rsa-2"),
    # Hostile.
    "alg_none": unsigned({"alg": "none", "typ": "JWT", "kid": "rsa-1"}, claims(datasets=[DATASETS + "bam"])),
    "hs256_public_key": hs256,
    "wrong_key": token(claims(datasets=[DATASETS + "bam"]), rogue, "RS256", "rsa-1"),
    "unknown_kid": token(claims(datasets=[DATASETS + "bam"]), rogue, "RS256", "nope"),
    "key_of_other_type": token(claims(datasets=[DATASETS + "bam"]), rsa_key, "RS256", "ec-1"),
    "expired": token(claims(datasets=[DATASETS + "bam"], iat=now - 7200, exp=now - 3600)),
    "not_yet_valid": token(claims(datasets=[DATASETS + "bam"], nbf=now + 3600)),
    "wrong_iss": token(claims(datasets=[DATASETS + "bam"], iss="https://evil.example")),
    "wrong_aud": token(claims(datasets=[DATASETS + "bam"], aud="another-service")),
    "no_aud": token(claims(datasets=[DATASETS + "bam"], aud=None)),
    "no_exp": token(claims(datasets=[DATASETS + "bam"], exp=None)),
    "visa_untrusted_issuer": passport(visa("bam", iss="https://evil.example")),
    "visa_untrusted_key": passport(visa("bam", key=rogue, kid="visa-1")),
    "visa_expired": passport(visa("bam", exp=now - 3600)),
    "visa_other_dataset": passport(visa("other")),
    "visa_with_conditions": passport(visa("bam", conditions=[[{"type": "AffiliationAndRole", "value": "const:x"}]])),
    "visa_malformed": passport("not.a.visa", 42),
    "huge": token(claims(datasets=[DATASETS + "bam"], pad="x" * (1 << 20))),
    "malformed_base64": "eyJhbGciOiJSUzI1NiJ9.@@@not-base64@@@.c2ln",
    "malformed_json": b64(b"{not json") + "." + b64(b"{}") + "." + b64(b"sig"),
    # Strict tokens: `iss` an array naming a trusted issuer; a visa (with an audience and a
    # grants claim, so that only its being a visa refuses it) as the bearer token, typed as a
    # visa or not; an ES256 signature's high-S twin.
    # (PyJWT refuses to put an array in `iss`: signed as raw JWS.)
    "iss_array": jwt.api_jws.PyJWS().encode(
        json.dumps(claims(datasets=[DATASETS + "bam"], iss=["https://evil.test", ISSUER])).encode(),
        rsa_key, algorithm="RS256", headers={"kid": "rsa-1", "typ": "JWT"}),
    "visa_as_bearer": with_s(jwt.encode(
        claims(iss=VISAS, datasets=[DATASETS + "bam"],
               ga4gh_visa_v1={"type": "ControlledAccessGrants", "value": DATASETS + "bam",
                              "source": "https://dac.example", "by": "dac", "asserted": now}),
        visa_key, algorithm="ES256", headers={"kid": "visa-1", "typ": "vnd.ga4gh.visa+jwt"})),
    "visa_claims_as_bearer": token(
        claims(iss=VISAS, datasets=[DATASETS + "bam"],
               ga4gh_visa_v1={"type": "ControlledAccessGrants", "value": DATASETS + "bam",
                              "source": "https://dac.example", "by": "dac", "asserted": now}),
        visa_key, "ES256", "visa-1"),
    "es256_high_s": with_s(token(claims(datasets=[DATASETS + "bam"]), ec_key, "ES256", "ec-1"), high=True),
    "visa_without_by": passport(visa("bam", by=None)),
}

# One token per ground-truth row, granting that row's dataset only (tests/access/exact.rs).
for i in range(400):
    tokens[f"row-{i}"] = token(claims(sub=f"row-{i}", datasets=[DATASETS + f"row-{i}"]))

with open(f"{out}/tokens.json", "w") as f:
    json.dump(tokens, f)
