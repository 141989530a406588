"""The runtime child: what a sandbox runs as `python -m xrayctl.local.lambda_.child RUNTIME HANDLER`.

RUNTIME is `awslambdaric` (Lambda's own runtime interface client, where it installs: `python -m awslambdaric
HANDLER`) or `builtin` (xrayctl's own loop speaking the same Runtime API, see `loop`). Around either, three
things a sandbox needs (see `runtime` and `processes`):
- a start gate: the interpreter and the runtime client load ahead of time (the same for every function),
  and the function's own init (importing the handler, which is what Lambda's Initialization shows) waits for
  the first byte on stdin, which the sandbox sends when the first invocation arrives;
- a subreaper (Linux): whatever the function starts stays in this process's tree, however it detaches;
- a parent watchdog: stdin is a pipe only the parent holds open, so EOF on it means xrayctl is gone (even
  by SIGKILL); the child then kills its whole tree, what bears the sandbox's mark, and its process group;
  and the same cleanup when the runtime loop ends by itself (only an os._exit or a signal skips it).

It imports only the standard library, the runtime client, `processes` and the (empty) `xrayctl` package
`__init__`s that `-m` runs: the function's process must look like Lambda's. The one exception is an exec
wrapper: with `AWS_LAMBDA_EXEC_WRAPPER` set to the ADOT layer's (`otel_layer`), OpenTelemetry's
auto-instrumentation starts after the gate, before the runtime runs, as the layer's script starts it before
Lambda's runtime.
"""

import os
import runpy
import signal
import sys
import threading

from xrayctl.local.lambda_ import processes

# Every process of a sandbox carries it; not XRAYCTL_*: the function sees none of the user's settings.
MARK_VARIABLE = "_XRAYCTL_SANDBOX"
RUNTIMES = ("awslambdaric", "builtin")


def _watch_parent(mark: str) -> None:
    while os.read(0, 512):
        pass
    processes.kill_tree(os.getpid(), include_root=False, mark=mark)
    if processes.POSIX:
        os.killpg(0, signal.SIGKILL)
    os._exit(1)


def main() -> None:
    runtime, handler = sys.argv[1], sys.argv[2]
    # Loaded before the gate opens, as Lambda's runtime is before the function's init. Imported here, not at
    # the top: the sandbox imports this module for MARK_VARIABLE, and the parent must not load the runtime.
    if runtime == "awslambdaric":
        import awslambdaric.bootstrap
        import awslambdaric.lambda_config
        import awslambdaric.lambda_runtime_client  # noqa: F401
    else:
        from xrayctl.local.lambda_ import loop
    processes.become_subreaper()

    if not os.read(0, 1):  # EOF before the go: the parent is gone
        os._exit(0)
    mark = f"{MARK_VARIABLE}={os.environ.get(MARK_VARIABLE, '-')}"
    threading.Thread(target=_watch_parent, args=(mark,), name="xrayctl-parent-watch", daemon=True).start()
    if os.environ.get("AWS_LAMBDA_EXEC_WRAPPER"):
        from xrayctl.local.lambda_.otel_layer import instrument

        instrument()
    try:
        if runtime == "awslambdaric":
            sys.argv = [sys.argv[0], handler]
            runpy.run_module("awslambdaric", run_name="__main__", alter_sys=True)
        else:
            loop.main(handler)
    finally:
        # The runtime ends (an init error; a Runtime API gone with a killed xrayctl, before the watchdog saw
        # it): what the function started ends with it, as a sandbox's processes do in Lambda.
        processes.kill_tree(os.getpid(), include_root=False, mark=mark)


if __name__ == "__main__":
    main()
