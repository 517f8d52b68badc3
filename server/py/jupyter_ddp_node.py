"""One rank's kernel on a node of a Slurm allocation: what `srun` starts for each task.

It calls the jupyter-ddp server back (jupyter_ddp_callback), which answers with the kernel to
start: its argv (the notebook's kernelspec, `{connection_file}` in it), environment, working
folder and message-signing key. Its five sockets bind to this node's address on the way to the
server, never to every interface; the connection file (with the key) is this user's alone, in a
folder of its own, removed at exit. It tells the server the kernel's ports, what the kernel
prints (the server keeps the last lines, for failure messages), and how the kernel ended.

It ends the kernel, and ends itself, when the server closes the channel or cannot be heard any
more (the group stopped, or the server or its host is gone): nothing outlives the group.
"""

import json
import os
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile

import jupyter_ddp_callback

PORT_NAMES = ("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port")
#: Between the kernel's SIGTERM and its SIGKILL.
KILL_GRACE_SECONDS = 5


def interface_of(address):
    """The name of the network interface that holds `address` (for GLOO/NCCL_SOCKET_IFNAME)."""
    import fcntl
    import struct

    SIOCGIFADDR = 0x8915
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        for _, name in socket.if_nameindex():
            try:
                packed = fcntl.ioctl(probe.fileno(), SIOCGIFADDR, struct.pack("256s", name.encode()[:15]))
            except OSError:
                continue  # no IPv4 address
            if socket.inet_ntoa(packed[20:24]) == address:
                return name
    finally:
        probe.close()
    return None


def free_ports(address, count):
    """`count` ports nobody listens on at `address` now (held together, then freed)."""
    probes = []
    try:
        for _ in range(count):
            probe = socket.socket()
            probe.bind((address, 0))
            probes.append(probe)
        return [p.getsockname()[1] for p in probes]
    finally:
        for probe in probes:
            probe.close()


def serve(channel, kernel):
    """Relay the kernel's output lines until it exits (say how) or the server goes (end it)."""
    selector = selectors.DefaultSelector()
    selector.register(channel, selectors.EVENT_READ, "server")
    selector.register(kernel.stdout, selectors.EVENT_READ, "kernel")
    partial = b""
    while kernel.poll() is None:
        for key, _ in selector.select(0.5):
            if key.data == "server":
                if not channel.read():  # the server closed the channel, or is gone
                    end(kernel)
                    return kernel.wait()
                channel.take()  # nothing else is sent after the order yet
            else:
                chunk = os.read(kernel.stdout.fileno(), 65536)
                if not chunk:
                    selector.unregister(kernel.stdout)
                    continue
                *lines, partial = (partial + chunk).split(b"\n")
                for line in lines:
                    channel.send({"output": line.decode(errors="replace")})
    code = kernel.returncode
    try:
        channel.send({"exit": {"code": code}})
    except OSError:
        pass
    return code


def end(kernel):
    if kernel.poll() is None:
        try:
            os.killpg(kernel.pid, signal.SIGTERM)
            kernel.wait(KILL_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(kernel.pid, signal.SIGKILL)
            kernel.wait()
        except ProcessLookupError:
            pass


def main():
    channel = jupyter_ddp_callback.connect_or_exit()
    order = channel.receive()
    if not order or "kernel" not in order:
        print(f"jupyter-ddp: the server sent no kernel to start: {order}", file=sys.stderr, flush=True)
        sys.exit(2)
    spec = order["kernel"]
    address = channel.local_address()
    folder = tempfile.mkdtemp(prefix="jupyter-ddp-node-")  # 0700: the key is ours alone
    try:
        info = dict(zip(PORT_NAMES, free_ports(address, len(PORT_NAMES))))
        info.update(ip=address, transport="tcp", key=spec["key"], signature_scheme="hmac-sha256",
                    kernel_name=spec.get("kernelName", ""))
        connection_file = os.path.join(folder, "kernel.json")
        with os.fdopen(os.open(connection_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
            json.dump(info, f)
        interface = interface_of(address)
        env = dict(os.environ, **spec.get("env", {}))
        # Collectives between nodes go over the interface that reaches the server: gloo would
        # otherwise bind the address the host name resolves to (often 127.0.1.1).
        if interface:
            env.setdefault("GLOO_SOCKET_IFNAME", interface)
            env.setdefault("NCCL_SOCKET_IFNAME", interface)
        for name in [n for n in env if n.startswith("JUPYTER_DDP_CALLBACK")]:
            del env[name]  # the one-time secrets and the channel are this process's, not the kernel's
        argv = [part.replace("{connection_file}", connection_file) for part in spec["argv"]]
        kernel = subprocess.Popen(
            argv, cwd=spec.get("cwd") or None, env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
        )
        channel.send({"kernel": {**{k: info[k] for k in PORT_NAMES}, "ip": address, "pid": kernel.pid,
                                 "host": socket.gethostname(), "interface": interface}})
        code = serve(channel, kernel)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    sys.exit(code if code >= 0 else 128 - code)


if __name__ == "__main__":
    main()
