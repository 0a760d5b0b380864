"""``python -m verify.lemmas [--json]``: prove every lemma, print the results."""

from __future__ import annotations

import json
import sys

from transformer_proofs.verify.lemmas.catalogue import lemmas
from transformer_proofs.verify.lemmas.lemma import prove, result_to_check
from transformer_proofs.verify.registry import Context


def main(argv: list[str]) -> int:
    out = {}
    for cid, make in lemmas().items():
        res = prove(make(Context(0)))
        chk = result_to_check(res)
        out[cid] = {**chk.to_json(), "seconds": round(res.seconds, 3)}
        if "--json" not in argv:
            print(f"{chk.status:6s} {cid:42s} {res.seconds:5.2f}s  {chk.detail[:160]}")
    if "--json" in argv:
        print(json.dumps(out, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
