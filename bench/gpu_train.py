"""A small DDP training loop, the same under `torchrun` and in a jupyter-ddp cell.

bench/gpu-train.mjs runs it both ways and compares the step times:
    python -m torch.distributed.run --standalone --nproc-per-node=N bench/gpu_train.py --steps 200
and, on every rank of a jupyter-ddp group, the cell
    train = runpy.run_path("bench/gpu_train.py", run_name="gpu_train")["train"]; train(steps=200)
Rank 0 prints one line: GPU_TRAIN_RESULT {"step_ms": ..., ...}. `--device cpu` (train(device="cpu"))
runs the same loop on CPU ranks with gloo, for the GPU check kit's dry run (bench/gpu-kit).
"""
import argparse
import json
import os
import time

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel


def train(steps=200, warmup=20, batch=64, width=4096, depth=4, device="cuda"):
    local_rank = int(os.environ["LOCAL_RANK"])
    cuda = device == "cuda"
    device = torch.device("cuda", local_rank) if cuda else torch.device("cpu")
    if cuda:
        torch.cuda.set_device(device)
    if not dist.is_initialized():  # under torchrun; a jupyter-ddp group has done it already
        dist.init_process_group("nccl" if cuda else "gloo")
    torch.manual_seed(0)
    layers = []
    for _ in range(depth):
        layers += [torch.nn.Linear(width, width), torch.nn.GELU()]
    model = torch.nn.Sequential(*layers, torch.nn.Linear(width, 10)).to(device)
    model = DistributedDataParallel(model, device_ids=[local_rank] if cuda else None)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    x = torch.randn(batch, width, device=device)
    y = torch.randint(0, 10, (batch,), device=device)

    def step():
        optimizer.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()

    sync = torch.cuda.synchronize if cuda else (lambda: None)
    for _ in range(warmup):
        step()
    sync()
    dist.barrier()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    sync()
    result = {
        "step_ms": (time.perf_counter() - start) / steps * 1000,
        "steps": steps,
        "world_size": dist.get_world_size(),
        "backend": dist.get_backend(),
        "gpu": torch.cuda.get_device_name(device) if cuda else "CPU",
    }
    if dist.get_rank() == 0:
        print("GPU_TRAIN_RESULT " + json.dumps(result), flush=True)
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--width", type=int, default=4096)
    parser.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
    args = parser.parse_args()
    train(steps=args.steps, width=args.width, device=args.device)
    dist.destroy_process_group()
