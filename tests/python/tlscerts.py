"""Throw-away test certificates, made with the openssl CLI (and keytool for a Java-style PKCS#12
trust store) in a temporary directory at test time. Nothing here is a secret: every key is
generated per run and deleted with the directory.

    make_certs(dir) -> Certs with paths:
      ca, ca_key                    test CA (EC P-256)
      server                        PEM key store for servers: PKCS#8 key + cert, SAN 127.0.0.1/localhost
      client1, client2, admin       PEM key stores for clients (also .crt/.key split for kazoo)
      tricky                        client whose subject needs RFC 2253 escaping
      rogue                         client signed by another CA
      server_p12, trust_p12         PKCS#12 key store (openssl) and trust store (keytool), password "storepw"
      server_enc, server_enc2       PEM key stores with an encrypted PKCS#8 key (PBES1 3DES / PBES2
                                    AES), password "keypw"
      ca2, server2                  a second CA and a server cert from it (for reload tests)
"""

import os
import shutil
import subprocess

STORE_PASSWORD = "storepw"
KEY_PASSWORD = "keypw"

SUBJECTS = {
    "client1": "/O=zk-test/OU=clients/CN=client1",
    "client2": "/O=zk-test/OU=clients/CN=client2",
    "admin": "/O=zk-test/CN=admin",
    # Escapes (',', '+', '#', leading space), a multi-valued RDN and an emailAddress (no
    # RFC 2253 keyword: Java prints it as an OID with a #hex value).
    "tricky": "/C=US/O=Acme\\, Inc./OU=a+UID=u1/CN=#3 client; x=y/emailAddress=c3@example.com",
}


def have_tools():
    return shutil.which("openssl") is not None


def have_keytool():
    return shutil.which("keytool") is not None


def _run(args, **kw):
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kw)


class Certs:
    def __init__(self, d):
        self.dir = d

    def path(self, name):
        return os.path.join(self.dir, name)

    def __getattr__(self, name):
        if name.startswith("_") or name == "dir":
            raise AttributeError(name)
        for ext in (".pem", ".p12"):
            p = os.path.join(self.dir, name + ext)
            if os.path.exists(p):
                return p
        raise AttributeError(name)

    def crt(self, name):
        return self.path(name + ".crt")

    def key(self, name):
        return self.path(name + ".key")


def _key(path):
    _run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
          "-out", path])


def _ca(d, name, subject):
    _key(os.path.join(d, name + ".key"))
    _run(["openssl", "req", "-x509", "-new", "-key", os.path.join(d, name + ".key"),
          "-subj", subject, "-days", "3650", "-sha256",
          "-addext", "basicConstraints=critical,CA:TRUE",
          "-addext", "keyUsage=critical,keyCertSign,cRLSign",
          "-out", os.path.join(d, name + ".pem")])


def _leaf(d, name, subject, ca, san=None, multivalue=False):
    key = os.path.join(d, name + ".key")
    csr = os.path.join(d, name + ".csr")
    crt = os.path.join(d, name + ".crt")
    _key(key)
    req = ["openssl", "req", "-new", "-key", key, "-subj", subject, "-out", csr]
    if multivalue:
        req.insert(2, "-multivalue-rdn")
    _run(req)
    ext = os.path.join(d, name + ".ext")
    with open(ext, "w") as f:
        f.write("basicConstraints=CA:FALSE\n")
        if san:
            f.write("subjectAltName=%s\n" % san)
    _run(["openssl", "x509", "-req", "-in", csr, "-CA", os.path.join(d, ca + ".pem"),
          "-CAkey", os.path.join(d, ca + ".key"), "-CAcreateserial", "-days", "3650",
          "-sha256", "-extfile", ext, "-out", crt])
    # Apache's PEM key store: the PKCS#8 key and the certificate in one file.
    with open(os.path.join(d, name + ".pem"), "w") as out:
        out.write(open(key).read())
        out.write(open(crt).read())


def make_certs(d):
    os.makedirs(d, exist_ok=True)
    _ca(d, "ca", "/O=zk-test/CN=zk-test CA")
    _ca(d, "ca2", "/O=zk-test/CN=zk-test CA 2")
    _ca(d, "rogueca", "/O=elsewhere/CN=rogue CA")
    san = "IP:127.0.0.1,DNS:localhost"
    _leaf(d, "server", "/O=zk-test/CN=server", "ca", san)
    _leaf(d, "server2", "/O=zk-test/CN=server two", "ca2", san)
    for name in ("client1", "client2", "admin"):
        _leaf(d, name, SUBJECTS[name], "ca")
    _leaf(d, "tricky", SUBJECTS["tricky"], "ca", multivalue=True)
    _leaf(d, "rogue", "/O=elsewhere/CN=client1", "rogueca")
    # Encrypted PKCS#8 key stores, unlocked with keyStore.password: PBEWithSHA1AndDESede (the
    # scheme Apache 3.8's PemReader can decrypt on Java 17) and PBES2/AES-256 (OpenSSL's
    # default, which Java 17 cannot decrypt: "PBES2 SecretKeyFactory not available").
    for name, scheme in (("server_enc", ["-v1", "PBE-SHA1-3DES"]),
                         ("server_enc2", ["-v2", "aes-256-cbc"])):
        enc_key = os.path.join(d, name + ".key")
        _run(["openssl", "pkcs8", "-topk8"] + scheme + ["-in", os.path.join(d, "server.key"),
              "-out", enc_key, "-passout", "pass:" + KEY_PASSWORD])
        with open(os.path.join(d, name + ".pem"), "w") as out:
            out.write(open(enc_key).read())
            out.write(open(os.path.join(d, "server.crt")).read())
    # PKCS#12 key store from openssl.
    _run(["openssl", "pkcs12", "-export", "-in", os.path.join(d, "server.crt"),
          "-inkey", os.path.join(d, "server.key"), "-name", "server",
          "-out", os.path.join(d, "server_p12.p12"), "-passout", "pass:" + STORE_PASSWORD])
    if have_keytool():
        _run(["keytool", "-importcert", "-noprompt", "-storetype", "PKCS12", "-alias", "ca",
              "-file", os.path.join(d, "ca.pem"), "-keystore", os.path.join(d, "trust_p12.p12"),
              "-storepass", STORE_PASSWORD])
    return Certs(d)
