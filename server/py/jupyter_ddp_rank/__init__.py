"""What the jupyter-ddp server calls on a rank kernel, through one entry point: call().

The server puts this package (and jupyter_ddp_values) in a rank's sys.modules at its first call
(server/py/install_modules.py), and calls it silently through a user expression, as
`call("stage", "<base64 JSON of the keyword arguments>")`; the answer is the base64 JSON of what
the function returns, and an exception is the expression's error. Nothing of it is in the user's
namespace, so `%reset` cannot break it. server/group/rank-calls.ts types each call.
"""

import base64
import json

from jupyter_ddp_rank import startup, transfer

#: The calls, by the name the server gives.
CALLS = {
    "warm": startup.warm,
    "setEnvironment": startup.set_environment,
    "prepare": startup.prepare,
    "initProcessGroup": startup.init_process_group,
    "stage": transfer.stage,
    "commit": transfer.commit,
    "discard": transfer.discard,
    "pull": transfer.pull,
    "run": transfer.run,
}


def call(name, encoded):
    """Run the call `name` with the keyword arguments in `encoded`; gives its encoded result."""
    function = CALLS.get(name)
    if function is None:
        raise ValueError(f"jupyter-ddp: no rank call {name!r}; the calls are {', '.join(CALLS)}")
    arguments = json.loads(base64.b64decode(encoded, validate=True))
    if not isinstance(arguments, dict):
        raise TypeError(f"jupyter-ddp: the arguments of {name} must be a JSON object, not {arguments!r}")
    return base64.b64encode(json.dumps(function(**arguments)).encode()).decode()
