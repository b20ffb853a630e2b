"""Multi-process training and testing without a GPU (gloo), for tools/train.py and tools/test.py."""
import torch
from mmengine.config import Config


def setup_cpu_distributed(cfg: Config, launcher: str) -> None:
    """Switches a config to CPU multi-process runs: gloo instead of NCCL, and DDP over CPU.

    mmengine 0.10.7 calls ``torch.cuda.set_device`` while it initialises the process group, which
    a CPU-only torch rejects; with torchrun (``--launcher pytorch``) the gloo group is therefore
    created here, and mmengine finds it ready.
    """
    cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = 'gloo'
    wrapper = cfg.get('model_wrapper_cfg') or dict(type='MMDistributedDataParallel')
    wrapper['device_ids'] = None  # DDP over CPU parameters
    cfg.model_wrapper_cfg = wrapper
    if launcher == 'pytorch' and not torch.distributed.is_initialized():
        torch.distributed.init_process_group(backend='gloo')
