#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Minimax polynomial coefficients of the float SIMD transcendentals (include/longtail/cpu/packet.hpp).

Remez exchange for the smallest maximum *relative* error, in 50-digit arithmetic (mpmath):
  exp:    e^r = 1 + r + r^2 q(r),  q of degree 4 on |r| <= ln(2)/2   -> exp_polynomial
  log1p:  log1p(t) = 2 s g(s^2), s = t / (2 + t), g(z) = atanh(sqrt z) / sqrt z, degree 4 on
          z in [0, 1/9]                                              -> log1p_and_reciprocal_unit
Run:  python3 tools/fit_polynomials.py   (Debian: python3-mpmath). Prints coefficients, lowest
degree first, and the maximum relative error of each fit.
"""
import mpmath as mp

mp.mp.dps = 50


def remez(f, a, b, degree, iterations=30, grid_points=4000):
    """Polynomial p of the given degree minimising max |p(x) - f(x)| / |f(x)| on [a, b]."""
    n = degree + 2
    xs = sorted((a + b) / 2 + (b - a) / 2 * mp.cos(mp.pi * k / (n - 1)) for k in range(n))
    grid = [a + (b - a) * mp.mpf(i) / grid_points for i in range(grid_points + 1)]
    coefficients, max_error = None, None
    for _ in range(iterations):
        # Solve p(x_i) - f(x_i) = (-1)^i E |f(x_i)| for the coefficients and the level E.
        rows = [[x**j for j in range(degree + 1)] + [(-1) ** i * abs(f(x))] for i, x in enumerate(xs)]
        solution = mp.lu_solve(mp.matrix(rows), mp.matrix([f(x) for x in xs]))
        coefficients = [solution[j] for j in range(degree + 1)]
        error = [(mp.polyval(coefficients[::-1], x) - f(x)) / f(x) for x in grid]
        max_error = max(abs(e) for e in error)
        # New reference: the local extrema of the error, merged to alternate in sign.
        extrema = [i for i in range(len(grid))
                   if (i == 0 or abs(error[i]) >= abs(error[i - 1]))
                   and (i + 1 == len(grid) or abs(error[i]) >= abs(error[i + 1]))]
        alternating = []
        for i in extrema:
            if alternating and mp.sign(error[i]) == mp.sign(error[alternating[-1]]):
                if abs(error[i]) > abs(error[alternating[-1]]):
                    alternating[-1] = i
            else:
                alternating.append(i)
        while len(alternating) > n:
            alternating.pop(0 if abs(error[alternating[0]]) < abs(error[alternating[-1]]) else -1)
        if len(alternating) < n:
            break
        xs = [grid[i] for i in alternating]
    return coefficients, max_error


def main():
    half_ln2 = mp.log(2) / 2
    q = lambda r: (mp.exp(r) - 1 - r) / r**2 if r != 0 else mp.mpf(1) / 2
    g = lambda z: mp.atanh(mp.sqrt(z)) / mp.sqrt(z) if z != 0 else mp.mpf(1)
    for name, f, a, b in (("exp: q(r), |r| <= ln(2)/2", q, -half_ln2, half_ln2),
                          ("log1p: g(z), z in [0, 1/9]", g, mp.mpf(0), mp.mpf(1) / 9)):
        coefficients, error = remez(f, a, b, 4)
        print(f"{name}: max relative error {mp.nstr(error, 5)}")
        for k, c in enumerate(coefficients):
            print(f"  c{k} = {mp.nstr(c, 22)}")


if __name__ == "__main__":
    main()
