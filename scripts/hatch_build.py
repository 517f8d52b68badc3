"""Hatch build hook: the wheel carries what `npm run build` made, staged by
scripts/stage-python.mjs; a build without it would install an extension that cannot run."""

import os
import subprocess

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

NEEDED = [
    "build/labextensions/jupyterlab-ddp/package.json",
    "server-lib/server/cli/main.js",
    "lab/build/core/package.json",
]


class CustomBuildHook(BuildHookInterface):
    def initialize(self, version, build_data):
        missing = [p for p in NEEDED if not os.path.exists(os.path.join(self.root, p))]
        if missing:
            raise RuntimeError(
                f"jupyterlab_ddp: {', '.join(missing)} missing: run `npm ci && npm run build` first"
            )
        subprocess.run(["node", "scripts/stage-python.mjs"], cwd=self.root, check=True)
