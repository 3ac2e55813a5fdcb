//===- winograd_matrices.h - the Winograd F(m x m, 3 x 3) transforms -*- C++ -*-===//
//
// The transform matrices of Winograd's minimal filtering algorithm
// F(m, 3) (Lavin and Gray, "Fast Algorithms for Convolutional Neural
// Networks", 2016), with the interpolation points 0, 1, -1 (m = 2) and
// 0, 1, -1, 2, -2 (m = 4), plus the point at infinity. For an n x n input
// tile d (n = m + 2) and a 3 x 3 filter g, the m x m output tile is
//
//   Y = A^T [ (G g G^T) (.) (B^T d B) ] A
//
// (.) the elementwise product. B^T and A^T hold small integers, exact in
// float; G holds 1/4, 1/6, 1/12, 1/24, so the weights are transformed in
// double and rounded once (winograd_pack in dispatch.cpp).
//
// Shared data of the packing code (the baseline runtime) and every kernel
// set (winograd.h); no code.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_CPU_WINOGRAD_MATRICES_H
#define KILN_RUNTIME_CPU_WINOGRAD_MATRICES_H

namespace kiln::cpu::winograd {

/// An R x C matrix of constants.
template <typename T, int R, int C> struct Matrix {
  static constexpr int rows = R, cols = C;
  T a[R][C];
};

/// F(2 x 2, 3 x 3): 4 x 4 input tiles.
inline constexpr Matrix<float, 4, 4> kBt2 = {{{1, 0, -1, 0},
                                              {0, 1, 1, 0},
                                              {0, -1, 1, 0},
                                              {0, 1, 0, -1}}};
inline constexpr Matrix<double, 4, 3> kG2 = {{{1, 0, 0},
                                              {0.5, 0.5, 0.5},
                                              {0.5, -0.5, 0.5},
                                              {0, 0, 1}}};
inline constexpr Matrix<float, 2, 4> kAt2 = {{{1, 1, 1, 0}, {0, 1, -1, -1}}};

/// F(4 x 4, 3 x 3): 6 x 6 input tiles.
inline constexpr Matrix<float, 6, 6> kBt4 = {{{4, 0, -5, 0, 1, 0},
                                              {0, -4, -4, 1, 1, 0},
                                              {0, 4, -4, -1, 1, 0},
                                              {0, -2, -1, 2, 1, 0},
                                              {0, 2, -1, -2, 1, 0},
                                              {0, 4, 0, -5, 0, 1}}};
inline constexpr Matrix<double, 6, 3> kG4 = {
    {{1.0 / 4, 0, 0},
     {-1.0 / 6, -1.0 / 6, -1.0 / 6},
     {-1.0 / 6, 1.0 / 6, -1.0 / 6},
     {1.0 / 24, 1.0 / 12, 1.0 / 6},
     {1.0 / 24, -1.0 / 12, 1.0 / 6},
     {0, 0, 1}}};
inline constexpr Matrix<float, 4, 6> kAt4 = {{{1, 1, 1, 1, 1, 0},
                                              {0, 1, -1, 2, -2, 0},
                                              {0, 1, 1, 4, 4, 0},
                                              {0, 1, -1, 8, -8, 1}}};

} // namespace kiln::cpu::winograd

#endif // KILN_RUNTIME_CPU_WINOGRAD_MATRICES_H
