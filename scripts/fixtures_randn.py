"""Pure-Python re-implementation of torch's CPU ``torch.randn`` (float32), used to
verify -- value for value, bit for bit -- the algorithm description that
Tests/Fixtures/README.md gives to the Swift port.

Nothing here calls torch; make_fixtures.py compares it against torch.

Summary (details in Tests/Fixtures/README.md):

* Engine: at::mt19937, the standard 32-bit Mersenne Twister, seeded with the LOW 32 BITS
  of the 64-bit seed using the standard Knuth initialisation
  (state[0] = seed & 0xffffffff; state[i] = 1812433253 * (s ^ (s >> 30)) + i).
* float uniform: (u32 & 0xFFFFFF) * 2^-24      (one engine call).
* double uniform: random64 = (first_u32 << 32) | second_u32 (two engine calls),
  (random64 & (2^53 - 1)) * 2^-53.
* numel >= 16 (contiguous float32): "vector path" -- fill the whole buffer with float
  uniforms, Box-Muller each full block of 16 in place on pairs (j, j+8), j = 0..7, with
  avx_mathfun's float32 Cephes log/sincos (FMA-contracted, see below); if numel % 16 != 0,
  draw 16 fresh uniforms into the LAST 16 slots (overwriting already-transformed values)
  and Box-Muller that block again.
* numel < 16: "scalar path" -- per element at::normal_distribution<double>: if the
  generator holds a cached double normal, return it (and clear the cache); else
  u1 = double uniform, u2 = double uniform, r = sqrt(-2 * log1p(-u2)),
  theta = 2*pi*u1, cache r*sin(theta), return r*cos(theta); each result is cast to float.
  The cache lives in the generator: it survives vector-path draws and is cleared only by
  (re)seeding.
"""

from __future__ import annotations

import math
import struct

import numpy as np

F32 = np.float32

# ---------------------------------------------------------------------------
# MT19937


class MT19937:
    N = 624
    M = 397

    def __init__(self, seed: int):
        s = [0] * self.N
        s[0] = seed & 0xFFFFFFFF
        for i in range(1, self.N):
            prev = s[i - 1]
            s[i] = (1812433253 * (prev ^ (prev >> 30)) + i) & 0xFFFFFFFF
        self.state = s
        self.index = self.N

    def _twist(self) -> None:
        s = self.state
        n, m = self.N, self.M
        for i in range(n):
            y = (s[i] & 0x80000000) | (s[(i + 1) % n] & 0x7FFFFFFF)
            v = y >> 1
            if y & 1:
                v ^= 0x9908B0DF
            s[i] = s[(i + m) % n] ^ v
        self.index = 0

    def next_u32(self) -> int:
        if self.index >= self.N:
            self._twist()
        y = self.state[self.index]
        self.index += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C5680
        y ^= (y << 15) & 0xEFC60000
        y ^= y >> 18
        return y & 0xFFFFFFFF


# ---------------------------------------------------------------------------
# exact float32 helpers


def f32(x) -> float:
    """Round a Python float (double) to the nearest float32, returned as a Python float."""
    return float(F32(x))


def bits(x: float) -> int:
    return struct.unpack("<I", struct.pack("<f", x))[0]


def from_bits(b: int) -> float:
    return struct.unpack("<f", struct.pack("<I", b & 0xFFFFFFFF))[0]


def mul(a: float, b: float) -> float:
    return f32(a * b)  # product of two float32 is exact in double; one rounding


def add(a: float, b: float) -> float:
    return f32(a + b)  # sum of two float32 is exact in double (for our ranges); one rounding


def sub(a: float, b: float) -> float:
    return f32(a - b)


def fma(a: float, b: float, c: float) -> float:
    """float32 fused multiply-add with a single rounding (emulated exactly)."""
    p = a * b  # exact in double (24 + 24 bit significands)
    s = p + c
    # TwoSum: p + c == s + err exactly
    bb = s - p
    err = (p - (s - bb)) + (c - bb)
    r = F32(s)
    rd = float(r)
    if rd == s or err == 0.0:
        return rd
    # neighbours of s in float32
    lo = float(np.nextafter(r, F32(-np.inf))) if rd > s else rd
    hi = rd if rd > s else float(np.nextafter(r, F32(np.inf)))
    if s - lo == hi - s:  # s is exactly a float32 midpoint: err decides
        return hi if err > 0 else lo
    return rd


def uniform_f32(g: MT19937) -> float:
    return (g.next_u32() & 0xFFFFFF) * (1.0 / (1 << 24))


def uniform_f64(g: MT19937) -> float:
    hi = g.next_u32()
    lo = g.next_u32()
    r64 = (hi << 32) | lo
    return (r64 & ((1 << 53) - 1)) * (1.0 / (1 << 53))


# ---------------------------------------------------------------------------
# avx_mathfun (Cephes) float32 log and sincos, with the FMA contraction of the
# shipped torch build.

_MIN_NORM_POS = from_bits(0x00800000)
_SQRTHF = f32(0.707106781186547524)
_LOG_P = [f32(v) for v in (
    7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1,
    1.4249322787e-1, -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1,
    3.3333331174e-1)]
_LOG_Q1 = f32(-2.12194440e-4)
_LOG_Q2 = f32(0.693359375)


def cephes_log(x: float) -> float:
    """avx_mathfun log256_ps for one lane, x > 0."""
    x = max(x, _MIN_NORM_POS)
    b = bits(x)
    e = f32(float((b >> 23) - 0x7F))
    x = from_bits((b & ~0x7F800000) | bits(0.5))  # mantissa in [0.5, 1)
    e = add(e, 1.0)
    if x < _SQRTHF:
        e = sub(e, 1.0)
        x = add(sub(x, 1.0), x)
    else:
        x = sub(x, 1.0)
    z = mul(x, x)
    y = _LOG_P[0]
    for p in _LOG_P[1:]:
        y = fma(y, x, p)
    y = mul(y, x)
    y = fma(y, z, mul(e, _LOG_Q1))   # y*z + e*q1  (y*z fused)
    y = fma(z, -0.5, y)              # y - z*0.5   (z*0.5 fused)
    x = add(x, y)
    x = fma(e, _LOG_Q2, x)           # x + e*q2    (fused)
    return x


_FOPI = f32(1.27323954473516)
_DP1 = f32(-0.78515625)
_DP2 = f32(-2.4187564849853515625e-4)
_DP3 = f32(-3.77489497744594108e-8)
_COS_P = [f32(v) for v in (2.443315711809948e-5, -1.388731625493765e-3, 4.166664568298827e-2)]
_SIN_P = [f32(v) for v in (-1.9515295891e-4, 8.3321608736e-3, -1.6666654611e-1)]


def cephes_sincos(xin: float) -> tuple[float, float]:
    """avx_mathfun sincos256_ps for one lane; returns (sin, cos)."""
    sign_sin = bits(xin) & 0x80000000
    x = abs(xin)
    j = int(mul(x, _FOPI))            # cvttps: truncate toward zero
    j = (j + 1) & ~1
    yq = f32(float(j))
    swap_sign_sin = (j & 4) << 29
    poly_is_cos_for_cos = (j & 2) == 0
    sign_cos = ((~(j - 2)) & 4) << 29
    sign_sin ^= swap_sign_sin
    x = fma(yq, _DP1, x)
    x = fma(yq, _DP2, x)
    x = fma(yq, _DP3, x)
    z = mul(x, x)
    yc = fma(_COS_P[0], z, _COS_P[1])
    yc = fma(yc, z, _COS_P[2])
    yc = mul(yc, z)
    yc = fma(yc, z, -mul(z, 0.5))     # yc*z - z*0.5 (fmsub)
    yc = add(yc, 1.0)
    ys = fma(_SIN_P[0], z, _SIN_P[1])
    ys = fma(ys, z, _SIN_P[2])
    ys = mul(ys, z)
    ys = fma(ys, x, x)
    s, c = (ys, yc) if poly_is_cos_for_cos else (yc, ys)
    s = from_bits(bits(s) ^ sign_sin)
    c = from_bits(bits(c) ^ sign_cos)
    return s, c


_TWO_PI_F = f32(2.0 * math.pi)


def normal_fill_16(d: list, off: int) -> None:
    for j in range(8):
        u1 = sub(1.0, d[off + j])
        u2 = d[off + j + 8]
        radius = f32(math.sqrt(mul(-2.0, cephes_log(u1))))  # IEEE sqrt, correctly rounded
        theta = mul(_TWO_PI_F, u2)
        s, c = cephes_sincos(theta)
        d[off + j] = mul(radius, c)
        d[off + j + 8] = mul(radius, s)


# ---------------------------------------------------------------------------


class TorchCPUGenerator:
    """Mirror of at::CPUGeneratorImpl for what torch.randn(float32) needs."""

    def __init__(self, seed: int):
        self.engine = MT19937(seed)
        self.next_double_normal = None

    def normal_double(self) -> float:
        if self.next_double_normal is not None:
            v = self.next_double_normal
            self.next_double_normal = None
            return v
        u1 = uniform_f64(self.engine)
        u2 = uniform_f64(self.engine)
        r = math.sqrt(-2.0 * math.log1p(-u2))
        theta = 2.0 * math.pi * u1
        self.next_double_normal = r * math.sin(theta)
        return r * math.cos(theta)

    def randn(self, n: int) -> list:
        if n >= 16:
            d = [uniform_f32(self.engine) for _ in range(n)]
            for i in range(0, n - 15, 16):
                normal_fill_16(d, i)
            if n % 16 != 0:
                off = n - 16
                for k in range(16):
                    d[off + k] = uniform_f32(self.engine)
                normal_fill_16(d, off)
            return d
        return [f32(self.normal_double()) for _ in range(n)]


def mt19937_first(seed: int, count: int = 8) -> list:
    g = MT19937(seed)
    return [g.next_u32() for _ in range(count)]
