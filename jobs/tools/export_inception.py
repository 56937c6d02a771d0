#!/usr/bin/env python3
"""Export the standard FID Inception network as a TorchScript file for pbtnas.

The file is what `gan.features.torchscript` expects (TorchScriptFeatures in
include/pbtnas/tasks/gan/features.hpp):

    forward(x) with x an N x 3 x H x W float32 tensor of pixel values in [0, 255]
    returns (features N x 2048, logits N x 1008)

Inside, the images are resized to 299 x 299 (bilinear, align_corners=False) and mapped to
[-1, 1] exactly as pytorch-fid's InceptionV3 does (x / 255, resize, 2 x - 1); the features are
the 2048-d pool3 activations (pytorch-fid's default block), the logits the output of the
network's 1008-way fc layer (for the Inception Score). The weights are pytorch-fid's port of the
TensorFlow FID Inception (pt_inception-2015-12-05-6726825d.pth), so the FIDs match pytorch-fid's.
They are close to, but not identical with, clean-fid's `legacy_tensorflow` numbers, which resize
differently.

Requirements (on the machine that runs this script, not on the pbtnas machines):
    pip install torch torchvision pytorch-fid
The weights are downloaded by pytorch-fid on first use; on a machine without internet access,
download https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth
elsewhere and pass it with --weights.

Usage:
    python3 jobs/tools/export_inception.py /data/models/fid_inception.pt
    python3 jobs/tools/export_inception.py --weights pt_inception-2015-12-05-6726825d.pth out.pt
then set, in the run config,
    gan:
      features:
        torchscript: /data/models/fid_inception.pt

The script is not run by the test suite and could not be tested where it was written (no
Python torch there, no network access); the C++ side of the contract is tested with small
TorchScript modules in test/unit/gan/features_test.cpp. After exporting, the script reloads the
file and compares it with the eager network on random inputs of two sizes, and exits non-zero
if they disagree.
"""

import argparse
import os
import sys


def die(message):
    print(f"export_inception: error: {message}", file=sys.stderr)
    sys.exit(1)


def import_dependencies():
    try:
        import torch  # noqa: F401
    except ImportError:
        die("PyTorch is not installed; run `pip install torch torchvision pytorch-fid` first")
    try:
        import pytorch_fid.inception  # noqa: F401
    except ImportError:
        die("pytorch-fid is not installed; run `pip install pytorch-fid` (it brings the FID "
            "Inception definition and weights)")


def build_inception(weights_path):
    """pytorch_fid.inception.fid_inception_v3() with its published weights (downloaded, or read
    from weights_path)."""
    import torch
    import pytorch_fid.inception as pfi

    if weights_path is not None:
        if not os.path.isfile(weights_path):
            die(f"--weights {weights_path}: no such file")

        # fid_inception_v3() fetches FID_WEIGHTS_URL through this module-level name.
        def local_weights(url, *args, **kwargs):
            print(f"export_inception: using local weights {weights_path} instead of {url}")
            return torch.load(weights_path, map_location="cpu")

        pfi.load_state_dict_from_url = local_weights
    try:
        net = pfi.fid_inception_v3()
    except Exception as e:  # network errors, checksum mismatch, incompatible torchvision
        die(f"could not build pytorch_fid.inception.fid_inception_v3() ({type(e).__name__}: {e}); "
            "without internet access pass the weights file with --weights")
    net.eval()
    return net


def make_wrapper(inception):
    import torch
    import torch.nn.functional as F

    class FidInception(torch.nn.Module):
        """forward(x: N x 3 x H x W float in [0, 255]) -> (pool3 N x 2048, logits N x 1008)."""

        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, x: torch.Tensor):
            n = self.net
            x = x / 255.0  # pytorch-fid's input range [0, 1]
            x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
            x = 2.0 * x - 1.0  # pytorch-fid's normalize_input
            # The blocks of pytorch-fid's InceptionV3 up to pool3 (block index 3).
            x = n.Conv2d_1a_3x3(x)
            x = n.Conv2d_2a_3x3(x)
            x = n.Conv2d_2b_3x3(x)
            x = F.max_pool2d(x, kernel_size=3, stride=2)
            x = n.Conv2d_3b_1x1(x)
            x = n.Conv2d_4a_3x3(x)
            x = F.max_pool2d(x, kernel_size=3, stride=2)
            x = n.Mixed_5b(x)
            x = n.Mixed_5c(x)
            x = n.Mixed_5d(x)
            x = n.Mixed_6a(x)
            x = n.Mixed_6b(x)
            x = n.Mixed_6c(x)
            x = n.Mixed_6d(x)
            x = n.Mixed_6e(x)
            x = n.Mixed_7a(x)
            x = n.Mixed_7b(x)
            x = n.Mixed_7c(x)
            x = F.adaptive_avg_pool2d(x, output_size=(1, 1))
            features = torch.flatten(x, 1)
            logits = n.fc(features)
            return features, logits

    return FidInception(inception).eval()


def compare_with_pytorch_fid(wrapper):
    """The features must equal pytorch-fid's own InceptionV3 (pool3 block) on the same input."""
    import torch
    from pytorch_fid.inception import InceptionV3

    try:
        reference = InceptionV3([InceptionV3.BLOCK_INDEX_BY_DIM[2048]]).eval()
    except Exception as e:
        print(f"export_inception: warning: skipped the comparison with pytorch-fid's InceptionV3 "
              f"({type(e).__name__}: {e})")
        return
    gen = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (2, 3, 64, 64), generator=gen).float()
    with torch.no_grad():
        ours = wrapper(x)[0]
        theirs = reference(x / 255.0)[0].flatten(1)
    err = (ours - theirs).abs().max().item()
    if err > 1e-3:
        die(f"the wrapper's features differ from pytorch-fid's InceptionV3 by {err:.3g}")
    print(f"export_inception: features match pytorch-fid's InceptionV3 (max abs diff {err:.2g})")


def export(wrapper, path, mode):
    import torch

    example = torch.zeros(2, 3, 32, 32)
    scripted = None
    if mode in ("auto", "script"):
        try:
            scripted = torch.jit.script(wrapper)
        except Exception as e:
            if mode == "script":
                die(f"torch.jit.script failed ({type(e).__name__}: {e}); try --mode trace")
            print(f"export_inception: torch.jit.script failed ({type(e).__name__}); tracing instead")
    if scripted is None:
        with torch.no_grad():
            scripted = torch.jit.trace(wrapper, example, check_trace=False)
    scripted = scripted.eval()
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    tmp = f"{path}.tmp.{os.getpid()}"
    try:
        scripted.save(tmp)
        os.replace(tmp, path)
    except OSError as e:
        if os.path.exists(tmp):
            os.remove(tmp)
        die(f"cannot write {path}: {e}")


def verify(wrapper, path):
    """Reload the file and compare it with the eager wrapper at two input sizes."""
    import torch

    loaded = torch.jit.load(path, map_location="cpu").eval()
    gen = torch.Generator().manual_seed(1)
    for size in (32, 80):
        x = torch.randint(0, 256, (3, 3, size, size), generator=gen).float()
        with torch.no_grad():
            out = loaded(x)
            ref = wrapper(x)
        if not (isinstance(out, tuple) and len(out) == 2):
            die(f"{path}: forward does not return a (features, logits) tuple")
        feat, logits = out
        if tuple(feat.shape) != (3, 2048) or tuple(logits.shape) != (3, 1008):
            die(f"{path}: unexpected output shapes {tuple(feat.shape)} and {tuple(logits.shape)} "
                "(expected 3 x 2048 and 3 x 1008)")
        err = max((feat - ref[0]).abs().max().item(), (logits - ref[1]).abs().max().item())
        if err > 1e-4:
            die(f"{path}: the exported module differs from the eager network by {err:.3g} at "
                f"{size} x {size}")
    print(f"export_inception: verified {path}: features 2048-d, logits 1008")


def main():
    parser = argparse.ArgumentParser(
        description="Export pytorch-fid's FID Inception (pool3 features + logits) as TorchScript "
        "for pbtnas' gan.features.torchscript.",
        epilog="The module takes N x 3 x H x W float pixels in [0, 255] and returns "
        "(features N x 2048, logits N x 1008).")
    parser.add_argument("output", help="path of the TorchScript file to write (e.g. fid_inception.pt)")
    parser.add_argument("--weights", default=None,
                        help="local copy of pt_inception-2015-12-05-6726825d.pth (default: "
                        "let pytorch-fid download it)")
    parser.add_argument("--mode", choices=("auto", "script", "trace"), default="auto",
                        help="torch.jit.script, torch.jit.trace, or script with a fallback to "
                        "trace (default)")
    parser.add_argument("--no-compare", action="store_true",
                        help="skip the comparison with pytorch-fid's InceptionV3 wrapper")
    args = parser.parse_args()

    import_dependencies()
    import torch

    torch.set_grad_enabled(False)
    wrapper = make_wrapper(build_inception(args.weights))
    if not args.no_compare:
        compare_with_pytorch_fid(wrapper)
    export(wrapper, args.output, args.mode)
    verify(wrapper, args.output)
    print(f"export_inception: wrote {args.output}; set gan.features.torchscript: "
          f"{os.path.abspath(args.output)}")


if __name__ == "__main__":
    main()
