/**
 * 3x3 linear algebra for affines: a one-sided Jacobi SVD (accurate to a few ulps, rank-revealing),
 * the closest orthogonal matrix as nibabel gets it from numpy's SVD, and a rotation's quaternion.
 */

/** Singular value decomposition m = u·diag(s)·vᵀ of a 3x3 matrix (columns of u, v are vectors). */
export function svd3(m: number[][]): { u: number[][]; s: number[]; v: number[][] } {
  const a = m.map((row) => [...row]);
  const v = [[1, 0, 0], [0, 1, 0], [0, 0, 1]];
  for (let sweep = 0; sweep < 64; sweep++) {
    let rotated = false;
    for (let p = 0; p < 2; p++) {
      for (let q = p + 1; q < 3; q++) {
        let alpha = 0, beta = 0, gamma = 0;
        for (let i = 0; i < 3; i++) {
          alpha += a[i][p] * a[i][p];
          beta += a[i][q] * a[i][q];
          gamma += a[i][p] * a[i][q];
        }
        if (!(Math.abs(gamma) > Number.EPSILON * Math.sqrt(alpha * beta))) continue;
        rotated = true;
        const zeta = (beta - alpha) / (2 * gamma);
        const t = (zeta >= 0 ? 1 : -1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        for (const x of [a, v]) {
          for (let i = 0; i < 3; i++) {
            const xp = x[i][p], xq = x[i][q];
            x[i][p] = c * xp - s * xq;
            x[i][q] = s * xp + c * xq;
          }
        }
      }
    }
    if (!rotated) break;
  }
  const s = [0, 1, 2].map((j) => Math.hypot(a[0][j], a[1][j], a[2][j]));
  const u = a.map((row) => row.map((x, j) => (s[j] > 0 ? x / s[j] : 0)));
  return { u, s, v };
}

/**
 * The closest orthogonal matrix to `m` over its numerically non-zero singular values (numpy:
 * `P, S, Qs = svd(m); keep = S > S.max() * 3 * eps; P[:, keep] @ Qs[keep]`).
 */
export function closestOrthogonal(m: number[][]): number[][] {
  const { u, s, v } = svd3(m);
  const tol = Math.max(...s) * 3 * Number.EPSILON;
  return [0, 1, 2].map((i) =>
    [0, 1, 2].map((j) => {
      let sum = 0;
      for (let k = 0; k < 3; k++) if (s[k] > tol) sum += u[i][k] * v[j][k];
      return sum;
    })
  );
}

/** Determinant of a 3x3 matrix. */
export function det3(m: number[][]): number {
  return m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
    m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
    m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
}

/** Unit quaternion [w, x, y, z] (w >= 0) of a proper rotation matrix (Shepperd's method). */
export function rotationToQuaternion(m: number[][]): [number, number, number, number] {
  const tr = m[0][0] + m[1][1] + m[2][2];
  let q: [number, number, number, number];
  if (tr > 0) {
    const s = 2 * Math.sqrt(tr + 1);
    q = [s / 4, (m[2][1] - m[1][2]) / s, (m[0][2] - m[2][0]) / s, (m[1][0] - m[0][1]) / s];
  } else if (m[0][0] > m[1][1] && m[0][0] > m[2][2]) {
    const s = 2 * Math.sqrt(1 + m[0][0] - m[1][1] - m[2][2]);
    q = [(m[2][1] - m[1][2]) / s, s / 4, (m[0][1] + m[1][0]) / s, (m[0][2] + m[2][0]) / s];
  } else if (m[1][1] > m[2][2]) {
    const s = 2 * Math.sqrt(1 + m[1][1] - m[0][0] - m[2][2]);
    q = [(m[0][2] - m[2][0]) / s, (m[0][1] + m[1][0]) / s, s / 4, (m[1][2] + m[2][1]) / s];
  } else {
    const s = 2 * Math.sqrt(1 + m[2][2] - m[0][0] - m[1][1]);
    q = [(m[1][0] - m[0][1]) / s, (m[0][2] + m[2][0]) / s, (m[1][2] + m[2][1]) / s, s / 4];
  }
  return q[0] < 0 ? [-q[0], -q[1], -q[2], -q[3]] : q;
}
