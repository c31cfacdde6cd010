#!/usr/bin/python3
"""PyTorch DDP's side of `gencluster-trainer bench overhead`: the same DCGAN (28x28 grey), batch and threads, in
N processes on the gloo backend, timed with DDP and again without it (the same processes, no communication).

    scripts/bench/ddp_overhead.py --ranks 2 --threads 1 --width 32 --batch 32    (Debian's /usr/bin/python3)

prints one line in bench overhead's form:

    framework=pytorch-ddp torch=1.13.1 ranks=2 threads=1 batch=32 width=32 step_ms_ddp=.. step_ms_alone=..
    exposed_comm_ms=.. overhead_pct=.. step_ms_lockstep=.. straggler_ms=.. comm_beyond_lockstep_ms=..

step_ms_lockstep is the median over steps of the slowest rank's step without DDP (the ranks start their steps
without it together, after a barrier): what a synchronous step would take if communication were free. Of the
exposed time, straggler_ms is waiting for the slowest rank, and comm_beyond_lockstep_ms the rest.

Compare exposed_comm_ms (milliseconds the all-reduce adds to a step), not percentages: Debian's PyTorch computes
several times slower than libtorch 2.10, so the same milliseconds are a smaller share of its step.

The networks mirror src/GenCluster.Trainer/Recipes/Gan/DcganGenerator.cs and DcganDiscriminator.cs, and the step
mirrors GanRecipe: one G forward, D on the real batch and on the detached fakes, D's gradients all-reduced and D
stepped; then G through D with D's parameters frozen, G's gradients all-reduced and G stepped (Adam 2e-4,
betas 0.5/0.999, non-saturating loss). DDP's defaults except broadcast_buffers=False (GenCluster does not
broadcast BatchNorm buffers every step); G's step calls D's module directly so that D's gradients are not
all-reduced again during G's backward.
"""
import argparse
import os
import socket
import time

try:
    import torch
except ModuleNotFoundError:
    raise SystemExit("ddp_overhead.py: no 'torch' module for this Python; install Debian's python3-torch (apt-get install "
                     "python3-torch) and run the script with /usr/bin/python3")
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel as DDP


class Generator(nn.Module):
    def __init__(self, latent, width):
        super().__init__()
        self.latent = latent
        self.net = nn.Sequential(
            nn.ConvTranspose2d(latent, 4 * width, 4, 1, 0, bias=False), nn.BatchNorm2d(4 * width), nn.ReLU(),
            nn.ConvTranspose2d(4 * width, 2 * width, 3, 2, 1, bias=False), nn.BatchNorm2d(2 * width), nn.ReLU(),
            nn.ConvTranspose2d(2 * width, width, 4, 2, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
            nn.ConvTranspose2d(width, 1, 4, 2, 1, bias=False), nn.Tanh())

    def forward(self, z):
        return self.net(z.view(z.shape[0], self.latent, 1, 1))


class Discriminator(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, width, 4, 2, 1, bias=False), nn.LeakyReLU(0.2),
            nn.Conv2d(width, 2 * width, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * width), nn.LeakyReLU(0.2),
            nn.Conv2d(2 * width, 4 * width, 3, 2, 1, bias=False), nn.BatchNorm2d(4 * width), nn.LeakyReLU(0.2),
            nn.Conv2d(4 * width, 1, 4, 1, 0, bias=False))

    def forward(self, x):
        return self.net(x).view(-1)


def time_steps(args, rank, distributed):
    torch.manual_seed(1 + rank)
    g, d = Generator(args.latent, args.width), Discriminator(args.width)
    if distributed:
        g, d = DDP(g, broadcast_buffers=False), DDP(d, broadcast_buffers=False)
    d_module = d.module if distributed else d
    opt_g = torch.optim.Adam(g.parameters(), 2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), 2e-4, betas=(0.5, 0.999))
    real = torch.rand(args.batch, 1, 28, 28) * 2 - 1
    ones, zeros = torch.ones(args.batch), torch.zeros(args.batch)
    times = []
    for i in range(args.warmup + args.steps):
        started = time.perf_counter()
        opt_d.zero_grad(set_to_none=True)
        fake = g(torch.randn(args.batch, args.latent))
        # One D forward over real and detached fakes: DDP wants one forward per backward.
        logits = d(torch.cat([real, fake.detach()]))
        loss_d = F.binary_cross_entropy_with_logits(logits, torch.cat([ones, zeros]))
        loss_d.backward()
        opt_d.step()
        opt_g.zero_grad(set_to_none=True)
        for p in d_module.parameters():
            p.requires_grad_(False)
        loss_g = F.binary_cross_entropy_with_logits(d_module(fake), ones)
        loss_g.backward()
        for p in d_module.parameters():
            p.requires_grad_(True)
        opt_g.step()
        loss_d.item(), loss_g.item()
        if i >= args.warmup:
            times.append(time.perf_counter() - started)
    return times


def upper_median(values):
    """The middle value, the upper one of an even count (as bench overhead takes medians)."""
    return sorted(values)[len(values) // 2]


def worker(rank, args, port):
    torch.set_num_threads(args.threads)
    os.environ["MASTER_ADDR"], os.environ["MASTER_PORT"] = "127.0.0.1", str(port)
    dist.init_process_group("gloo", rank=rank, world_size=args.ranks)
    with_ddp = upper_median(time_steps(args, rank, distributed=True))
    dist.barrier()
    alone_steps = time_steps(args, rank, distributed=False)
    gathered = [torch.zeros(2 + args.steps, dtype=torch.float64) for _ in range(args.ranks)]
    dist.all_gather(gathered, torch.tensor([with_ddp, upper_median(alone_steps)] + alone_steps, dtype=torch.float64))
    if rank == 0:
        # A step ends when the slowest rank ends it.
        ddp_ms = max(t[0].item() for t in gathered) * 1e3
        alone_ms = max(t[1].item() for t in gathered) * 1e3
        lockstep_ms = upper_median([max(t[2 + i].item() for t in gathered) for i in range(args.steps)]) * 1e3
        print(f"framework=pytorch-ddp torch={torch.__version__} ranks={args.ranks} threads={args.threads} "
              f"batch={args.batch} width={args.width} step_ms_ddp={ddp_ms:.1f} step_ms_alone={alone_ms:.1f} "
              f"exposed_comm_ms={ddp_ms - alone_ms:.1f} overhead_pct={(ddp_ms / alone_ms - 1) * 100:.1f} "
              f"step_ms_lockstep={lockstep_ms:.1f} straggler_ms={lockstep_ms - alone_ms:.1f} "
              f"comm_beyond_lockstep_ms={ddp_ms - lockstep_ms:.1f}", flush=True)
    dist.destroy_process_group()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ranks", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--batch", type=int, default=32, help="images per rank per step")
    parser.add_argument("--latent", type=int, default=100)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()
    for name in ("ranks", "threads", "width", "batch", "latent", "steps"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1, got {getattr(args, name)}")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.spawn(worker, args=(args, port), nprocs=args.ranks, join=True)


if __name__ == "__main__":
    main()
