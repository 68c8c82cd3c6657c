"""Command line of meter_agent.

    meter-agent read IMAGE... [--config FILE] [--interval SECONDS]
    meter-agent synth OUT_DIR [--count N] [--kind lcd7|drum] [--seed S]
    meter-agent serve ...            (added by meter_agent.serve_cmd when installed)

``read`` is the one-shot contract used to measure the agent: one JSON object per image,
one per line, with exactly the keys file, digits, reading_kwh, confidence, accepted,
reason. The images form one stream in the order given, so the history checks
(monotonic, maximum increase) apply across them. Consecutive images are taken to be
``--interval`` seconds apart (default: the config's ``ocr.interval_s``), not their file
times: copied files lose their capture times, and a fixed spacing makes a run
reproducible. Exit code 0 unless the config (or an argument) is bad: then one sentence on
stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

CONTRACT_KEYS = ("file", "digits", "reading_kwh", "confidence", "accepted", "reason")


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error in one sentence (exit code 2), no usage dump."""

    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"meter-agent: {message}.", file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    ap = _Parser(prog="meter-agent", description="Read a utility meter from camera images.")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    rd = sub.add_parser("read", help="read meter images (one JSON line per image)")
    rd.add_argument("images", nargs="+", metavar="IMAGE")
    rd.add_argument("--config", metavar="FILE", help="config.json with a calibration object")
    rd.add_argument(
        "--interval",
        type=float,
        metavar="SECONDS",
        help="time between consecutive images for the increase check (default: ocr.interval_s)",
    )
    rd.set_defaults(func=cmd_read)

    sy = sub.add_parser("synth", help="write synthetic meter frames, a config and the truth")
    sy.add_argument("out_dir", metavar="OUT_DIR")
    sy.add_argument("--count", type=int, default=12)
    sy.add_argument("--kind", choices=["lcd7", "drum"], default="lcd7")
    sy.add_argument("--seed", type=int, default=1)
    sy.add_argument("--digits", type=int, default=6, help="number of digits on the meter")
    sy.add_argument("--decimals", type=int, default=0)
    sy.add_argument(
        "--no-screens", action="store_true", help="LCD: only reading screens (no test/blank/date)"
    )
    sy.set_defaults(func=cmd_synth)

    # the HTTP server's subcommand lives with the server
    from meter_agent.serve_cmd import add_serve_parser

    add_serve_parser(sub)
    return ap


def _line(file: str, result: dict) -> str:
    return json.dumps({k: result.get(k) for k in CONTRACT_KEYS})


def cmd_read(args: argparse.Namespace) -> int:
    from meter_agent.checks import UNREADABLE_IMAGE, Rejection
    from meter_agent.config import AgentConfigError, load_agent_config

    try:
        cfg = load_agent_config(args.config)
    except AgentConfigError as exc:
        print(f"meter-agent: {exc}", file=sys.stderr)
        return 2
    interval = cfg.ocr.interval_s if args.interval is None else args.interval
    if not interval > 0:
        print("meter-agent: --interval must be a positive number of seconds.", file=sys.stderr)
        return 2
    try:
        from meter_agent.reader import MeterReader

        model = cfg.ocr.digit_model
        if model and args.config and not Path(model).expanduser().is_absolute():
            model = str(Path(args.config).resolve().parent / Path(model).expanduser())
        reader = MeterReader(cfg, digit_model=model or None)
    except ValueError as exc:
        print(f"meter-agent: {exc}", file=sys.stderr)
        return 2
    start = datetime.now(UTC).replace(microsecond=0)
    for i, name in enumerate(args.images):
        ts = start + timedelta(seconds=interval * i)
        try:
            res = reader.read_image_file(name, ts).to_json(file=name)
        except ValueError as exc:
            res = {
                "file": name,
                "digits": None,
                "reading_kwh": None,
                "confidence": 0.0,
                "accepted": False,
                "reason": Rejection(UNREADABLE_IMAGE, str(exc).rstrip(".")).to_wire(),
            }
        print(_line(name, res), flush=True)
    return 0


def cmd_synth(args: argparse.Namespace) -> int:
    import cv2

    from meter_agent.synth import make_stream

    if args.count < 1 or not 1 <= args.digits <= 12 or not 0 <= args.decimals < args.digits:
        print(
            "meter-agent: --count must be at least 1, --digits 1 to 12 and --decimals below --digits.",
            file=sys.stderr,
        )
        return 2
    out = Path(args.out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(f"meter-agent: cannot create {out}: {exc.strerror}.", file=sys.stderr)
        return 2
    frames = make_stream(
        args.kind,
        args.count,
        seed=args.seed,
        n_digits=args.digits,
        decimals=args.decimals,
        screens=not args.no_screens,
    )
    truth = []
    for i, f in enumerate(frames):
        name = f"frame_{i:04d}.png"
        cv2.imwrite(str(out / name), f.image)
        truth.append({"file": name, **f.truth()})
    first = frames[0]
    config = {
        "ocr": {
            "expected_digits": args.digits,
            "decimals": args.decimals,
            "interval_s": 3600.0,
            "max_increase_per_day": 200.0,
        },
        "calibration": {
            "roi": first.roi,
            "rotate_degrees": round(first.rotation, 3),
            "display": args.kind,
        },
    }
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    (out / "truth.json").write_text(json.dumps(truth, indent=2) + "\n", encoding="utf-8")
    n = len(frames)
    print(f"wrote {n} frame{'' if n == 1 else 's'}, config.json and truth.json to {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help(sys.stderr)
        return 2
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
