"""``python3 -m imagebuild``: the Makefile's build steps as subcommands; a failure is one line and exit 2."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from imagebuild import base, build, deploy, images, lock, model, wheelhouse
from imagebuild.errors import BuildError

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python3 -m imagebuild", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("lock", help="compile requirements/*.lock and environment.yml with uv (needs PyPI)")
    check = commands.add_parser("check", help="fail when a lock no longer matches its requirements")
    check.add_argument("--variant", default="cpu", choices=sorted(lock.PLATFORMS))
    mirror = os.environ.get("DEBIAN_MIRROR") or base.DEFAULT_MIRROR
    name = {"default": images.DEFAULT, "choices": sorted(images.IMAGES), "help": "which image of images/"}
    base_cmd = commands.add_parser("base", help="pull the image's base image, or make it with debootstrap")
    base_cmd.add_argument("--name", **name)
    base_cmd.add_argument("--mirror", default=mirror)
    wheels = commands.add_parser("wheelhouse", help="download the locked wheels into wheelhouse/")
    wheels.add_argument("--variant", default="cpu", choices=sorted(lock.PLATFORMS))
    wheels.add_argument("--index-url", default=lock.PYPI)
    image = commands.add_parser("build", help="build and tag an image (all of the above first)")
    image.add_argument("--name", **name)
    image.add_argument("--image", required=True, help="the tag to give it, e.g. kit:latest")
    image.add_argument("--variant", help="the lock to build it from (default: the image's first)")
    image.add_argument("--mirror", default=mirror)
    image.add_argument("--index-url", default=lock.PYPI, help="where missing wheels are downloaded from")
    model_cmd = commands.add_parser("model", help="build the model image of a kit run (its model and record inside)")
    model_cmd.add_argument("--run", required=True, help="the run: its id (in ./runs) or its directory, e.g. runs/ID")
    model_cmd.add_argument("--image", required=True, help="the tag to give it, e.g. diagnosis:1")
    model_cmd.add_argument("--mirror", default=mirror)
    model_cmd.add_argument("--index-url", default=lock.PYPI, help="where missing wheels are downloaded from")
    deploy_cmd = commands.add_parser("deploy", help="check a model image against its run, then write its manifests")
    deploy_cmd.add_argument("--run", required=True, help="the run: its id (in ./runs) or its directory, e.g. runs/ID")
    deploy_cmd.add_argument("--image", required=True, help="the model image, e.g. registry.example/diagnosis:1")
    deploy_cmd.add_argument("--output", required=True, type=Path, help="the folder to write the manifests into")
    return parser


def run(args: argparse.Namespace) -> None:
    if args.command == "lock":
        for path in lock.lock_all():
            print(f"wrote {path.name}")
    elif args.command == "check":
        lock.check(args.variant)
        print(f"{args.variant}.lock matches its requirements")
    elif args.command == "base":
        image = base.default_image(images.get(args.name).dockerfile)
        print(f"{image}: {base.ensure(image, args.mirror)}")
    elif args.command == "wheelhouse":
        print(f"wheelhouse complete: {wheelhouse.download(args.variant, index_url=args.index_url)}")
    elif args.command == "build":
        build.build(args.image, args.variant, args.name, args.mirror, args.index_url)
        print(f"built {args.image}")
    elif args.command == "model":
        variant = model.build_model_image(
            model.find_run(args.run), args.image, mirror=args.mirror, index_url=args.index_url
        )
        print(f"built {args.image} ({variant}): docker run -p 8080:8080 {args.image}")
    elif args.command == "deploy":
        for path in deploy.deploy(model.find_run(args.run), args.image, args.output):
            print(f"wrote {path}")
        print(f"the manifests of {args.image}: kubectl apply -k {args.output}")


def main(argv: list[str] | None = None) -> None:
    try:
        run(_parser().parse_args(argv))
    except BuildError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(EXIT_USAGE)
    except KeyboardInterrupt:
        print("error: interrupted; run the same command again to resume", file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)
