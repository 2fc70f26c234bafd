"""A federation of token and visa issuers over https, for the access tests: an AAI with OpenID
discovery, a JWKS and a userinfo endpoint that hands out passports; two visa issuers (REMS
instances) publishing their keys at their jku URLs; and hostile key URLs (a redirect, a slow
one, a huge one, garbage). Its tokens are minted with PyJWT and real keys, with its port in
every URL, once it is listening.

usage: python3 federation.py OUT_DIR CERT KEY
Writes OUT_DIR/tokens.json and OUT_DIR/passports.json (for op.mjs), then OUT_DIR/port, then serves until killed, keeping in
OUT_DIR/counts.json how many requests each path has had.
"""

import base64
import json
import os
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

out, cert, key = sys.argv[1:4]
now = int(time.time())
AUDIENCE = "htsget-test"
DATASETS = "https://datasets.example/"
RESEARCHER = "https://doi.org/10.1038/s41431-018-0219-y"
TERMS = "https://terms.example/v1"

server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
port = server.server_address[1]
BASE = f"https://127.0.0.1:{port}"
AAI, REMS_A, REMS_B = BASE + "/aai", BASE + "/rems-a", BASE + "/rems-b"

aai_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
rems_a_key = ec.generate_private_key(ec.SECP256R1())
rems_b_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwks(public, kid, alg):
    algorithm = jwt.algorithms.RSAAlgorithm if alg == "RS256" else jwt.algorithms.ECAlgorithm
    key = json.loads(algorithm.to_jwk(public))
    key.update(kid=kid, alg=alg, use="sig")
    return json.dumps({"keys": [key]}).encode()


KEYS = {
    "/aai/jwks": jwks(aai_key.public_key(), "aai-1", "RS256"),
    "/rems-a/jwks": jwks(rems_a_key.public_key(), "rems-a-1", "ES256"),
    "/rems-b/jwks": jwks(rems_b_key.public_key(), "rems-b-1", "RS256"),
}
DISCOVERY = json.dumps({
    "issuer": AAI,
    "jwks_uri": AAI + "/jwks",
    "userinfo_endpoint": AAI + "/userinfo",
    "authorization_endpoint": AAI + "/authorize",
    "token_endpoint": AAI + "/token",
}).encode()


# The order of P-256: of the two signatures (r, s) and (r, N - s), the server takes the low-S.
N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def low_s(token):
    head, body, sig = token.split(".")
    raw = base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4))
    s = int.from_bytes(raw[32:], "big")
    raw = raw[:32] + min(s, N - s).to_bytes(32, "big")
    return head + "." + body + "." + base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def sign(payload, key, kid, typ, jku=None):
    alg = "RS256" if isinstance(key, rsa.RSAPrivateKey) else "ES256"
    headers = {"kid": kid, "typ": typ}
    if jku:
        headers["jku"] = jku
    token = jwt.encode(payload, key, algorithm=alg, headers=headers)
    return low_s(token) if alg == "ES256" else token


def visa(kind, value, iss=REMS_A, key=rems_a_key, kid="rems-a-1", jku="default", **extra):
    body = {"type": kind, "value": value, "source": "https://dac.example", "by": "dac",
            "asserted": now - 86400}
    body.update(extra)
    payload = {"iss": iss, "sub": "alice@rems", "iat": now, "exp": now + 3600,
               "ga4gh_visa_v1": body}
    if jku == "default":
        jku = iss + "/jwks"
    return sign(payload, key, kid, "vnd.ga4gh.visa+jwt", jku)


def grant(dataset, **kw):
    return visa("ControlledAccessGrants", DATASETS + dataset, **kw)


def access(sub, iss=AAI, key=aai_key, kid="aai-1", typ="at+jwt", **extra):
    payload = {"iss": iss, "sub": sub, "aud": AUDIENCE, "iat": now, "exp": now + 3600,
               "scope": "openid ga4gh_passport_v1"}
    payload.update(extra)
    return sign(payload, key, kid, typ)


def passport_jwt(*visas, sub="alice"):
    return access(sub, typ="vnd.ga4gh.passport+jwt", ga4gh_passport_v1=list(visas))


def hostile_jku(path):
    return grant("bam", jku=BASE + "/hostile/" + path)


role = visa("AffiliationAndRole", "faculty@uni.example", by="so")


def on_role(value):
    return grant("cram", iss=REMS_B, key=rems_b_key, kid="rems-b-1",
                 conditions=[[{"type": "AffiliationAndRole", "value": value, "by": "const:so"}]])


# What the userinfo endpoint answers, by the subject of the token it is sent.
USERINFO = {
    "alice": {"sub": "alice", "ga4gh_passport_v1": [
        grant("bam"), grant("cram", iss=REMS_B, key=rems_b_key, kid="rems-b-1")]},
    "ui-cram": {"sub": "ui-cram", "ga4gh_passport_v1": [
        grant("cram", iss=REMS_B, key=rems_b_key, kid="rems-b-1")]},
    "ui-nothing": {"sub": "ui-nothing"},
    "ui-other-sub": {"sub": "mallory", "ga4gh_passport_v1": [grant("bam")]},
}

tokens = {
    # Valid: a passport from userinfo; a Passport JWT; visas keyed by jku, or by the
    # issuer's own JWKS when they name none.
    "userinfo_alice": access("alice"),
    "userinfo_cram": access("ui-cram"),
    "userinfo_nothing": access("ui-nothing"),
    "passport_jwt": passport_jwt(
        grant("bam"), grant("cram", iss=REMS_B, key=rems_b_key, kid="rems-b-1")),
    "visa_without_jku": passport_jwt(grant("bam", jku=None)),
    # An issuer whose iss is no URL (keys from its JWKS, no discovery), with a grants claim.
    "grants_claim_urn": access("alice", iss="urn:htsget:aai", datasets=[DATASETS + "bam"]),
    # Cross-issuer forgery: a visa issuer's key signing an access token in the AAI's name
    # (under its own kid, and under the AAI's); an access token of a visa issuer; a visa
    # signed by the AAI's key in a visa issuer's name (with no jku, and with the AAI's).
    "forged_by_visa_key": access("alice", key=rems_a_key, kid="rems-a-1",
                                 datasets=[DATASETS + "bam"]),
    "forged_by_visa_key_aai_kid": access("alice", key=rems_b_key, kid="aai-1"),
    "access_by_visa_issuer": access("alice", iss=REMS_A, key=rems_a_key, kid="rems-a-1",
                                    ga4gh_passport_v1=[grant("bam")]),
    "visa_by_aai_key": passport_jwt(grant("bam", key=aai_key, kid="aai-1", jku=None)),
    "visa_by_aai_key_jku": passport_jwt(grant("bam", key=aai_key, kid="aai-1",
                                              jku=AAI + "/jwks")),
    # jku: on another issuer's list, http, redirecting, slow, huge, garbage.
    "jku_of_other_issuer": passport_jwt(grant("bam", jku=REMS_B + "/jwks")),
    "jku_http": passport_jwt(grant("bam", jku=f"http://127.0.0.1:{port}/rems-a/jwks")),
    "jku_redirect": passport_jwt(hostile_jku("redirect")),
    "jku_slow": passport_jwt(hostile_jku("slow")),
    "jku_huge": passport_jwt(hostile_jku("huge")),
    "jku_garbage": passport_jwt(hostile_jku("garbage")),
    # Userinfo that fails: 500, slow, 50 MB, garbage, another subject, a refusal.
    "userinfo_500": access("ui-500"),
    "userinfo_slow": access("ui-slow"),
    "userinfo_huge": access("ui-huge"),
    "userinfo_garbage": access("ui-garbage"),
    "userinfo_other_sub": access("ui-other-sub"),
    "userinfo_refuses": access("ui-refuse"),
    # Conditions (the cram grant needs a faculty role asserted by a signing official).
    "conditions_met": passport_jwt(role, on_role("pattern:*@uni.example")),
    "conditions_unmet": passport_jwt(role, on_role("const:student@uni.example")),
    "conditions_without_the_visa": passport_jwt(on_role("pattern:*")),
    "conditions_malformed": passport_jwt(role, grant(
        "cram", iss=REMS_B, key=rems_b_key, kid="rems-b-1",
        conditions=[{"type": "AffiliationAndRole"}])),
    "conditions_unknown_prefix": passport_jwt(role, on_role("regex:.*")),
    # Registered access needs both visas.
    "registered": passport_jwt(visa("ResearcherStatus", RESEARCHER, by="so"),
                               visa("AcceptedTermsAndPolicies", TERMS, by="self")),
    "registered_researcher_only": passport_jwt(visa("ResearcherStatus", RESEARCHER, by="so")),
    "registered_terms_only": passport_jwt(visa("AcceptedTermsAndPolicies", TERMS, by="self")),
    "registered_other_terms": passport_jwt(
        visa("ResearcherStatus", RESEARCHER, by="so"),
        visa("AcceptedTermsAndPolicies", "https://terms.example/v0", by="self")),
}

counts = {}
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, status, body, content_type="application/json", headers=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def stream(self, total):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Connection", "close")
        self.end_headers()
        chunk = b" " * 65536
        try:
            for _ in range(total // len(chunk)):
                self.wfile.write(chunk)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass
        self.close_connection = True

    def do_GET(self):
        path = self.path.split("?")[0]
        with lock:
            counts[path] = counts.get(path, 0) + 1
            with open(f"{out}/counts.tmp", "w") as f:
                json.dump(counts, f)
            os.replace(f"{out}/counts.tmp", f"{out}/counts.json")
        if path in KEYS:
            return self.send(200, KEYS[path])
        if path == "/aai/.well-known/openid-configuration":
            return self.send(200, DISCOVERY)
        if path == "/aai/userinfo":
            return self.userinfo()
        if path == "/hostile/redirect":
            return self.send(302, b"", headers=[("Location", REMS_A + "/jwks")])
        if path == "/hostile/slow":
            time.sleep(30)
            return self.send(200, KEYS["/rems-a/jwks"])
        if path == "/hostile/huge":
            return self.stream(50 << 20)
        if path == "/hostile/garbage":
            return self.send(200, b"{\"keys\": [garbage")
        self.send(404, b"{}")

    def userinfo(self):
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            return self.send(401, b"{}")
        try:
            claims = jwt.decode(auth[7:], aai_key.public_key(), algorithms=["RS256"],
                                audience=AUDIENCE, issuer=AAI)
        except jwt.InvalidTokenError:
            return self.send(401, b"{}")
        sub = claims["sub"]
        if sub == "ui-500":
            return self.send(500, b"{}")
        if sub == "ui-slow":
            time.sleep(30)
            return self.send(200, json.dumps({"sub": sub}).encode())
        if sub == "ui-huge":
            return self.stream(50 << 20)
        if sub == "ui-garbage":
            return self.send(200, b"<html>not json</html>", "text/html")
        if sub == "ui-refuse" or sub not in USERINFO:
            return self.send(401, b"{\"error\": \"invalid_token\"}")
        self.send(200, json.dumps(USERINFO[sub]).encode())


server.RequestHandlerClass = Handler
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
server.socket = context.wrap_socket(server.socket, server_side=True)
server.daemon_threads = True

with open(f"{out}/tokens.json", "w") as f:
    json.dump(tokens, f)
# The passports a real OpenID provider (op.mjs) gives its accounts at userinfo.
with open(f"{out}/passports.json", "w") as f:
    json.dump({
        "alice": USERINFO["alice"]["ga4gh_passport_v1"],
        "carol": USERINFO["ui-cram"]["ga4gh_passport_v1"],
        "bob": [],
    }, f)
with open(f"{out}/port.tmp", "w") as f:
    f.write(str(port))
os.rename(f"{out}/port.tmp", f"{out}/port")
server.serve_forever()
