"""The registry: the public facts of a node, append-only, with global keys.

A certificate issued, amended or revoked; the reference standards and the certificates a
registered certificate relied on. Each fact is written in the same transaction as the
change it describes (:mod:`labserver.registry.records`), so a fact exists exactly when its
change committed. Its key carries the issuer's code, so the facts of many nodes meet in one
national registry without colliding. Nothing personal is kept: no customer, no address, no
person's name, no free text.
"""
