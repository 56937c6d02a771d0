#pragma once
// The two GAN search spaces of PBT-NAS (docs/algorithm.md, "GAN search spaces"), gene for gene
// and option for option in the documented order (the option index in a Genome indexes these
// lists).
//
// Gene names and the module prefixes the generator / discriminator must use:
//   cell<k>.up0, cell<k>.up1, cell<k>.c0..c4   -> generator.cell<k>.<node>        (k = 1..3)
//   proj<i>.linear                             -> generator.projections.<i>.linear (i = 0..2)
//   proj<i>.if_enabled / up_mode / dropout     -> weightless
//   dblock<b>.c0..c6, down0, down1             -> discriminator.block<b>.<node>   (b = 1..4)
//   dblock<b>.downsample                       -> weightless
// Options that hold no tensors ('none', 'skip_connect', the pools) still own their prefix; they
// simply have nothing under it. Prefixes are exact dotted module prefixes (search_space.hpp), so
// the released code's substring matching (B4 in docs/algorithm.md) is matched without its
// hazards. The EMA generator's state dict uses the same names under its own root (see
// docs/gan.md).
#include <string>
#include <vector>

#include "pbtnas/core/search_space.hpp"

namespace pbtnas::gan {

// Generator edge ops c0..c4 and D ops c3..c6 (blocks 1-4) and c0..c2 (blocks 2-4), 7 options:
// none, skip_connect, conv_1x1, conv_3x3, conv_5x5, dil_conv_3x3, dil_conv_5x5.
const std::vector<std::string>& edge_op_names();
// Generator up ops up0/up1: nearest, bilinear, convtranspose.
const std::vector<std::string>& up_op_names();
// GanHard projection linear: whole_bottom, whole_prev, whole_target, part_bottom, part_prev,
// part_target ('whole'/'part' = input slice, 'bottom'/'prev'/'target' = output width).
const std::vector<std::string>& projection_linear_names();
// GanHard projection up_mode: nearest, bilinear.
const std::vector<std::string>& up_mode_names();
// GanHard projection dropout: "0.0", "0.1", "0.2".
const std::vector<std::string>& dropout_names();
// proj<i>.if_enabled and dblock<b>.downsample: "False", "True" (as in the released code).
const std::vector<std::string>& bool_names();
// D block1 c0..c2 (read the RGB image, no pre-activation): conv_1x1, conv_3x3, conv_5x5,
// dil_conv_3x3, dil_conv_5x5.
const std::vector<std::string>& d_input_op_names();
// D down ops: avg_pool_input, max_pool_input, avg_pool, max_pool, conv_3x3, conv_5x5,
// dil_conv_3x3, dil_conv_5x5.
const std::vector<std::string>& down_op_names();

// "gan_easy": 21 generator genes, cell k = 1..3: [up0, up1, c0, c1, c2, c3, c4];
// 3^6 · 7^15 ≈ 3.46e15 architectures. The discriminator (AutoGAN-D) is fixed.
SearchSpace gan_easy_space();

// "gan_hard": 72 genes: proj0 [linear, up_mode, dropout], proj1 and proj2 [if_enabled, linear,
// up_mode, dropout], the 21 cell genes of gan_easy, then dblock b = 1..4 [c0..c6, downsample,
// down0, down1]; ≈ 2.9e52 architectures.
SearchSpace gan_hard_space();

}  // namespace pbtnas::gan
