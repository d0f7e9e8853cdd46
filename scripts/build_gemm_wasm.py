"""Compile gancourse/interactive/wasm/gemm.wat and put its bytes into gancourse-generator.js.

    python scripts/build_gemm_wasm.py            # rewrite WASM_GEMM in the page's script
    python scripts/build_gemm_wasm.py --check    # exit 1 if the script's bytes are stale

Needs wabt's ``wat2wasm`` (SIMD on by default since wabt 1.0.33): on PATH, or named by the
environment variable WAT2WASM (``npm install wabt`` puts one in node_modules/wabt/bin/).
The book itself never needs it: the compiled bytes travel in the script, in base64.
"""
import argparse
import base64
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WAT = ROOT / "gancourse" / "interactive" / "wasm" / "gemm.wat"
JS = ROOT / "gancourse" / "interactive" / "static" / "gancourse-generator.js"
PATTERN = re.compile(r'var WASM_GEMM = "([A-Za-z0-9+/=]*)";')


def wat2wasm() -> str | None:
    return os.environ.get("WAT2WASM") or shutil.which("wat2wasm")


def compiled() -> str:
    tool = wat2wasm()
    if tool is None:
        raise SystemExit("wat2wasm not found: install wabt (npm install wabt) and set WAT2WASM, or put it on PATH")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "gemm.wasm"
        subprocess.run([tool, str(WAT), "-o", str(out)], check=True)
        return base64.b64encode(out.read_bytes()).decode("ascii")


def embedded() -> str:
    match = PATTERN.search(JS.read_text("utf-8"))
    if match is None:
        raise SystemExit(f"{JS} has no `var WASM_GEMM = \"...\";` line")
    return match.group(1)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--check", action="store_true", help="only compare; exit 1 when the bytes differ")
    args = p.parse_args()
    fresh = compiled()
    if args.check:
        same = fresh == embedded()
        print("gancourse-generator.js: WASM_GEMM " + ("matches gemm.wat" if same else "is stale"))
        return 0 if same else 1
    text = PATTERN.sub(lambda m: f'var WASM_GEMM = "{fresh}";', JS.read_text("utf-8"))
    JS.write_text(text, "utf-8")
    print(f"wrote {len(base64.b64decode(fresh))} bytes of WebAssembly into {JS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
