"""Bytes in, bytes out, no paths: keys, certificates, CRLs, PEM, PKCS#12 and JKS."""
