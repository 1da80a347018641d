/* Per-frame loops that numpy can only run as many small whole-array operations.
 *
 * Loaded through ctypes (kernels/__init__.py); every array is C-contiguous float64 (int64 for
 * indices), frames first. Quaternions are wxyz. Plain IEEE arithmetic (no fast-math), so
 * a build gives the same bytes on every run.
 *
 * The module init below only lets setuptools build this file as an extension module of the
 * package; Python never imports it.
 */
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* c = a * b */
static inline void quat_mul(const double *a, const double *b, double *c) {
    double w = a[0] * b[0] - a[1] * b[1] - a[2] * b[2] - a[3] * b[3];
    double x = a[0] * b[1] + a[1] * b[0] + a[2] * b[3] - a[3] * b[2];
    double y = a[0] * b[2] - a[1] * b[3] + a[2] * b[0] + a[3] * b[1];
    double z = a[0] * b[3] + a[1] * b[2] - a[2] * b[1] + a[3] * b[0];
    c[0] = w; c[1] = x; c[2] = y; c[3] = z;
}

/* out = R(q) v, for unit q: v + w t + u x t with t = 2 u x v */
static inline void quat_rotate(const double *q, const double *v, double *out) {
    double tx = 2.0 * (q[2] * v[2] - q[3] * v[1]);
    double ty = 2.0 * (q[3] * v[0] - q[1] * v[2]);
    double tz = 2.0 * (q[1] * v[1] - q[2] * v[0]);
    out[0] = v[0] + q[0] * tx + (q[2] * tz - q[3] * ty);
    out[1] = v[1] + q[0] * ty + (q[3] * tx - q[1] * tz);
    out[2] = v[2] + q[0] * tz + (q[1] * ty - q[2] * tx);
}

/* out = pos + R(quat) local: a point given in a frame, in the world */
static inline void to_world(const double *pos, const double *quat, const double *local, double *out) {
    quat_rotate(quat, local, out);
    out[0] += pos[0];
    out[1] += pos[1];
    out[2] += pos[2];
}

/* Forward kinematics of a floating-base tree of hinges, frame by frame.
 *
 * Link i (parents before children, link 0 the floating base) sits at offset (off_pos[i], off_quat[i])
 * in its parent's frame and turns by q[qidx[i]] about its own unit axis[i]:
 *     quat_i = quat_parent * off_quat_i * (cos(q/2), sin(q/2) axis_i),  pos_i = pos_parent + R(quat_parent) off_pos_i.
 * Body b hangs from link body_link[b] at (body_off_pos[b], body_off_quat[b]). With joint_origin and
 * joint_axis not NULL, hinge j's world origin and axis are written too (the Jacobian's columns).
 * work: 7 L doubles.
 */
void mimic_forward_kinematics(
    int64_t T, int64_t L, int64_t B, int64_t J,
    const int64_t *parent, const int64_t *qidx, const double *off_pos, const double *off_quat, const double *axis,
    const int64_t *body_link, const double *body_off_pos, const double *body_off_quat,
    const double *root_pos, const double *root_quat, const double *q,
    double *body_pos, double *body_quat, double *joint_origin, double *joint_axis, double *work) {
    double *lq = work, *lp = work + 4 * L;
    for (int64_t t = 0; t < T; t++) {
        const double *qt = q + t * J;
        memcpy(lq, root_quat + 4 * t, 4 * sizeof(double));
        memcpy(lp, root_pos + 3 * t, 3 * sizeof(double));
        for (int64_t i = 1; i < L; i++) {
            const double *pq = lq + 4 * parent[i], *pp = lp + 3 * parent[i];
            double fixed[4], spin[4];
            to_world(pp, pq, off_pos + 3 * i, lp + 3 * i);
            quat_mul(pq, off_quat + 4 * i, fixed);
            double half = 0.5 * qt[qidx[i]], s = sin(half);
            spin[0] = cos(half);
            spin[1] = s * axis[3 * i];
            spin[2] = s * axis[3 * i + 1];
            spin[3] = s * axis[3 * i + 2];
            quat_mul(fixed, spin, lq + 4 * i);
            if (joint_origin) {
                int64_t j = qidx[i];
                memcpy(joint_origin + 3 * (t * J + j), lp + 3 * i, 3 * sizeof(double));
                quat_rotate(lq + 4 * i, axis + 3 * i, joint_axis + 3 * (t * J + j));
            }
        }
        for (int64_t b = 0; b < B; b++) {
            int64_t i = body_link[b];
            to_world(lp + 3 * i, lq + 4 * i, body_off_pos + 3 * b, body_pos + 3 * (t * B + b));
            quat_mul(lq + 4 * i, body_off_quat + 4 * b, body_quat + 4 * (t * B + b));
        }
    }
}

/* The normal equations of one task's three rows: H += C C^T, g += w C e on the lower triangle, the columns
 * col (n x 3, the weight w already in them) and the error e (3) of the task. */
static inline void add_task_rows(const double *col, const double *e, double w, int64_t n, double *H, double *g) {
    for (int64_t a = 0; a < n; a++) {
        const double *ca = col + 3 * a;
        g[a] += w * (ca[0] * e[0] + ca[1] * e[1] + ca[2] * e[2]);
        for (int64_t b = 0; b <= a; b++)
            H[a * n + b] += ca[0] * col[3 * b] + ca[1] * col[3 * b + 1] + ca[2] * col[3 * b + 2];
    }
}

/* One damped Gauss-Newton step of one limb chain, every frame (retarget/ik.py gives the math).
 *
 * The chain's n hinges js[] move its tasks; task k (of K) has a position target (pos_w[k] > 0) and/or an
 * orientation target (rot_w[k] > 0) for its body's point[t, k]. moves[c, a] is 1 where hinge a moves the
 * body of the chain's c-th task. Hinge a moves a point p at axis_a x (p - origin_a) and turns it about
 * axis_a, so per frame
 *     H = sum_rows w^2 j j^T + (damping + posture_weight) I + sum extra rows,
 *     g = sum_rows w^2 j e - posture_weight (q - nominal) + extra,
 * solved by Cholesky; the step is scaled down so no hinge moves more than max_step.
 * Extra rows (constraints): row r acts on frame row_frame[r] with jacobian row_jac[r, :] and error row_err[r].
 * nominal has nominal_rows rows (1: one posture for every frame). work: T (n^2 + n) doubles.
 */
void mimic_chain_step(
    int64_t T, int64_t n, int64_t J, int64_t K, int64_t C,
    const int64_t *js, const int64_t *tasks, const double *moves, const double *pos_w, const double *rot_w,
    const double *point, const double *pos_err, const double *rot_err, const double *origin, const double *axis,
    const double *q, const double *nominal, int64_t nominal_rows, double damping, double posture_weight,
    int64_t R, const int64_t *row_frame, const double *row_jac, const double *row_err,
    double max_step, double *step, double *work) {
    double *H_all = work, *g_all = work + T * n * n;
    memset(work, 0, (size_t)(T * (n * n + n)) * sizeof(double));
    for (int64_t r = 0; r < R; r++) {
        double *H = H_all + row_frame[r] * n * n, *g = g_all + row_frame[r] * n;
        const double *jr = row_jac + r * n;
        for (int64_t a = 0; a < n; a++) {
            g[a] += jr[a] * row_err[r];
            for (int64_t b = 0; b <= a; b++) H[a * n + b] += jr[a] * jr[b];
        }
    }
    double col[3 * 64], low[64 * 64], y[64];
    for (int64_t t = 0; t < T; t++) {
        double *H = H_all + t * n * n, *g = g_all + t * n;
        for (int64_t c = 0; c < C; c++) {
            int64_t k = tasks[c];
            const double *p = point + 3 * (t * K + k);
            if (pos_w[k] > 0) {
                double w = pos_w[k];
                const double *e = pos_err + 3 * (t * K + k);
                for (int64_t a = 0; a < n; a++) {
                    const double *ax = axis + 3 * (t * J + js[a]), *o = origin + 3 * (t * J + js[a]);
                    double m = moves[c * n + a] * w;
                    double lx = p[0] - o[0], ly = p[1] - o[1], lz = p[2] - o[2];
                    col[3 * a] = (ax[1] * lz - ax[2] * ly) * m;
                    col[3 * a + 1] = (ax[2] * lx - ax[0] * lz) * m;
                    col[3 * a + 2] = (ax[0] * ly - ax[1] * lx) * m;
                }
                add_task_rows(col, e, w, n, H, g);
            }
            if (rot_w[k] > 0) {
                double w = rot_w[k];
                const double *e = rot_err + 3 * (t * K + k);
                for (int64_t a = 0; a < n; a++) {
                    const double *ax = axis + 3 * (t * J + js[a]);
                    double m = moves[c * n + a] * w;
                    col[3 * a] = ax[0] * m;
                    col[3 * a + 1] = ax[1] * m;
                    col[3 * a + 2] = ax[2] * m;
                }
                add_task_rows(col, e, w, n, H, g);
            }
        }
        const double *nom = nominal + (nominal_rows > 1 ? t * J : 0);
        for (int64_t a = 0; a < n; a++) {
            H[a * n + a] += damping + posture_weight;
            g[a] -= posture_weight * (q[t * J + js[a]] - nom[js[a]]);
        }
        /* H = L L^T on the lower triangle, then L y = g, L^T x = y. */
        for (int64_t j = 0; j < n; j++) {
            double d = H[j * n + j];
            for (int64_t k = 0; k < j; k++) d -= low[j * n + k] * low[j * n + k];
            low[j * n + j] = sqrt(d);
            for (int64_t i = j + 1; i < n; i++) {
                double s = H[i * n + j];
                for (int64_t k = 0; k < j; k++) s -= low[i * n + k] * low[j * n + k];
                low[i * n + j] = s / low[j * n + j];
            }
        }
        for (int64_t i = 0; i < n; i++) {
            double s = g[i];
            for (int64_t k = 0; k < i; k++) s -= low[i * n + k] * y[k];
            y[i] = s / low[i * n + i];
        }
        double *x = step + t * n, largest = 0.0;
        for (int64_t i = n - 1; i >= 0; i--) {
            double s = y[i];
            for (int64_t k = i + 1; k < n; k++) s -= low[k * n + i] * x[k];
            x[i] = s / low[i * n + i];
            if (fabs(x[i]) > largest) largest = fabs(x[i]);
        }
        if (largest > max_step) {
            double scale = max_step / largest;
            for (int64_t i = 0; i < n; i++) x[i] *= scale;
        }
    }
}

/* A clip's IK, as the per-frame solvers below read it (kernels/__init__.py fills these from numpy arrays). */
typedef struct {
    int64_t L, B, J;
    const int64_t *parent, *qidx;
    const double *off_pos, *off_quat, *axis;
    const int64_t *body_link;
    const double *body_off_pos, *body_off_quat;
    const double *root_pos, *root_quat; /* (T, 3), (T, 4): the base, unit and sign-continuous */
} Tree;

typedef struct {
    int64_t K, S;
    const int64_t *task_body;
    const double *pos_w, *rot_w;         /* square roots of the weights */
    const double *target_pos, *target_quat; /* (T, K, 3), (T, K, 4) */
    const int64_t *slot_task, *slot_body; /* an arm task's position target is its shoulder body's position ... */
    const double *slot_offset;           /* ... plus this offset, (T, S, 3) */
} Tasks;

typedef struct {
    int64_t C;
    const int64_t *joint_start, *joints, *task_start, *tasks, *moves_start;
    const double *moves; /* per chain (m_c tasks x n_c hinges), row-major: 1 where the hinge moves the task's body */
    const double *lower, *upper;
    double damping, posture_weight, max_step;
} Chains;

/* Per frame: the pose, the hinge frames, and each task's point and errors. */
typedef struct {
    double *fk_work, *body_pos, *body_quat, *origin, *hinge, *point, *goal, *pos_err, *rot_err, *step_work, *step;
    int64_t *rows_frame; /* zeros: every constraint row acts on the one frame */
    void *block;
} Frame;

static int frame_alloc(Frame *f, const Tree *tree, const Tasks *tasks, int64_t capacity) {
    int64_t L = tree->L, B = tree->B, J = tree->J, K = tasks->K;
    size_t doubles = (size_t)(7 * L + 7 * B + 6 * J + 12 * K + 64 * 64 + 2 * 64);
    f->block = malloc(sizeof(double) * doubles + sizeof(int64_t) * (size_t)(capacity + 1));
    if (!f->block) return 0;
    double *d = f->block;
    f->fk_work = d; f->body_pos = d + 7 * L; f->body_quat = f->body_pos + 3 * B;
    f->origin = f->body_quat + 4 * B; f->hinge = f->origin + 3 * J; f->point = f->hinge + 3 * J;
    f->goal = f->point + 3 * K; f->pos_err = f->goal + 3 * K; f->rot_err = f->pos_err + 3 * K;
    f->step_work = f->rot_err + 3 * K; f->step = f->step_work + 64 * 64 + 64;
    f->rows_frame = (int64_t *)(d + doubles);
    memset(f->rows_frame, 0, sizeof(int64_t) * (size_t)(capacity + 1));
    return 1;
}

/* FK of frame t at joint angles q, then each task's point, target and errors (the rotation vector of
 * target * body^-1, the short way round). */
static void frame_pose_and_errors(Frame *f, const Tree *tree, const Tasks *tasks, int64_t t, const double *q) {
    int64_t K = tasks->K, S = tasks->S;
    mimic_forward_kinematics(1, tree->L, tree->B, tree->J, tree->parent, tree->qidx, tree->off_pos, tree->off_quat,
                             tree->axis, tree->body_link, tree->body_off_pos, tree->body_off_quat,
                             tree->root_pos + 3 * t, tree->root_quat + 4 * t, q, f->body_pos, f->body_quat, f->origin,
                             f->hinge, f->fk_work);
    memcpy(f->goal, tasks->target_pos + 3 * K * t, sizeof(double) * (size_t)(3 * K));
    for (int64_t s = 0; s < S; s++)
        for (int c = 0; c < 3; c++)
            f->goal[3 * tasks->slot_task[s] + c] =
                f->body_pos[3 * tasks->slot_body[s] + c] + tasks->slot_offset[3 * (t * S + s) + c];
    for (int64_t k = 0; k < K; k++) {
        const double *bp = f->body_pos + 3 * tasks->task_body[k], *bq = f->body_quat + 4 * tasks->task_body[k];
        for (int c = 0; c < 3; c++) {
            f->point[3 * k + c] = bp[c];
            f->pos_err[3 * k + c] = f->goal[3 * k + c] - bp[c];
            f->rot_err[3 * k + c] = 0.0;
        }
        if (tasks->rot_w[k] > 0) {
            double conj[4] = {bq[0], -bq[1], -bq[2], -bq[3]}, e[4];
            quat_mul(tasks->target_quat + 4 * (t * K + k), conj, e);
            double sign = e[0] < 0 ? -1.0 : 1.0;
            double sin_half = sqrt(e[1] * e[1] + e[2] * e[2] + e[3] * e[3]);
            double scale = sin_half > 1e-12 ? 2.0 * atan2(sin_half, sign * e[0]) / sin_half : 2.0;
            for (int c = 0; c < 3; c++) f->rot_err[3 * k + c] = sign * e[c + 1] * scale;
        }
    }
}

/* One step of chain c at the frame's pose, with R constraint rows (row_jac (R, n_c), row_err (R,)), clipped to
 * the limits; the posture term pulls toward nominal (J,). Returns the largest joint change. */
static double frame_chain_step(Frame *f, const Tasks *tasks, const Chains *ch, int64_t c, int64_t J, double *q,
                               const double *nominal, int64_t R, const double *row_jac, const double *row_err) {
    int64_t n = ch->joint_start[c + 1] - ch->joint_start[c], m = ch->task_start[c + 1] - ch->task_start[c];
    const int64_t *js = ch->joints + ch->joint_start[c];
    mimic_chain_step(1, n, J, tasks->K, m, js, ch->tasks + ch->task_start[c], ch->moves + ch->moves_start[c],
                     tasks->pos_w, tasks->rot_w, f->point, f->pos_err, f->rot_err, f->origin, f->hinge, q, nominal, 1,
                     ch->damping, ch->posture_weight, R, f->rows_frame, row_jac, row_err, ch->max_step, f->step,
                     f->step_work);
    double moved = 0.0;
    for (int64_t a = 0; a < n; a++) {
        int64_t j = js[a];
        double next = q[j] + f->step[a];
        next = next < ch->lower[j] ? ch->lower[j] : (next > ch->upper[j] ? ch->upper[j] : next);
        if (fabs(next - q[j]) > moved) moved = fabs(next - q[j]);
        q[j] = next;
    }
    return moved;
}

/* The weighted task error sum_k w_pos |e_pos|^2 + w_rot |e_rot|^2 of the frame's pose and errors. */
static double frame_cost(const Frame *f, const Tasks *tasks) {
    double cost = 0.0;
    for (int64_t k = 0; k < tasks->K; k++)
        for (int c = 0; c < 3; c++)
            cost += tasks->pos_w[k] * f->pos_err[3 * k + c] * f->pos_err[3 * k + c]
                  + tasks->rot_w[k] * f->rot_err[3 * k + c] * f->rot_err[3 * k + c];
    return cost;
}

/* Frame t solved from q in place, for at most `budget` steps; returns the steps taken, and in *cost the task
 * error where the last step started (a converged frame's last step moves no joint more than the tolerance). */
static int64_t solve_frame(Frame *f, const Tree *tree, const Tasks *tasks, const Chains *ch, const double *nominal,
                           int64_t t, int64_t budget, double tolerance, double *q, double *cost) {
    int64_t it = 0;
    *cost = 0.0;
    for (; it < budget; it++) {
        frame_pose_and_errors(f, tree, tasks, t, q);
        *cost = frame_cost(f, tasks);
        double moved = 0.0;
        for (int64_t c = 0; c < ch->C; c++) {
            double m = frame_chain_step(f, tasks, ch, c, tree->J, q, nominal, 0, NULL, NULL);
            if (m > moved) moved = m;
        }
        if (moved < tolerance) return it + 1;
    }
    return it;
}

/* A frame whose task error jumps past this multiple of the frame before's, plus this much (a foot, weight
 * 40, missing by 5 cm), is solved once more from the nominal posture, and the better answer kept: a
 * straight knee is a fold in the leg's IK, and a solver stepping from one frame's answer to the next can
 * cross it onto the wrong side (Unitree's H1 on CMU 131_01: a planted leg swung back to its hip pitch
 * limit, its foot 1.4 m from the target, for 40 frames). */
#define RESTART_RATIO 2.0
#define RESTART_FLOOR 0.1

/* The frames of one clip solved in order, each from the joint angles the frame before ended at: the plain
 * IK (no constraints) of retarget/ik.py, iterated per frame until no joint moves more than `tolerance` in
 * a step, or `iterations` steps (`first_iterations` for frame 0, which starts from `start`, and for a frame
 * solved again from the nominal posture). Per step: the frame's pose and task errors, then one step of every
 * chain. q_out (T, J); used (T) the steps each frame took (all -1: out of memory). */
void mimic_solve_in_order(int64_t T, const Tree *tree, const Tasks *tasks, const Chains *ch, const double *nominal,
                          int64_t first_iterations, int64_t iterations, double tolerance, const double *start,
                          double *q_out, int64_t *used) {
    Frame f;
    int64_t J = tree->J;
    double *q = malloc(sizeof(double) * (size_t)(2 * J)), previous = 0.0;
    if (!q || !frame_alloc(&f, tree, tasks, 0)) {
        free(q);
        for (int64_t t = 0; t < T; t++) used[t] = -1;
        return;
    }
    double *fresh = q + J;
    memcpy(q, start, sizeof(double) * (size_t)J);
    for (int64_t t = 0; t < T; t++) {
        double cost, again;
        used[t] = solve_frame(&f, tree, tasks, ch, nominal, t, t == 0 ? first_iterations : iterations, tolerance, q,
                              &cost);
        if (t > 0 && cost > RESTART_RATIO * previous + RESTART_FLOOR) {
            memcpy(fresh, nominal, sizeof(double) * (size_t)J);
            used[t] += solve_frame(&f, tree, tasks, ch, nominal, t, first_iterations, tolerance, fresh, &again);
            if (again < cost) {
                memcpy(q, fresh, sizeof(double) * (size_t)J);
                cost = again;
            }
        }
        previous = cost;
        memcpy(q_out + J * t, q, sizeof(double) * (size_t)J);
    }
    free(q);
    free(f.block);
}

#define EPS 1e-12

static inline double clamp01(double x) { return x < 0.0 ? 0.0 : (x > 1.0 ? 1.0 : x); }

/* Closest points p on segment a0-a1 and q on b0-b1 (robot/collision.py's capsule_distances gives the math:
 * the unconstrained s, clamped, gives t, which clamped gives s again), and the capsules' signed distance
 * |p - q| - ra - rb with the unit normal from q to p (world up where the axes meet). */
static inline double capsule_pair(const double *a0, const double *a1, double ra, const double *b0, const double *b1,
                                  double rb, double *p, double *q, double *normal) {
    double u[3], v[3], w[3];
    for (int k = 0; k < 3; k++) { u[k] = a1[k] - a0[k]; v[k] = b1[k] - b0[k]; w[k] = a0[k] - b0[k]; }
    double a = u[0] * u[0] + u[1] * u[1] + u[2] * u[2];
    double e = v[0] * v[0] + v[1] * v[1] + v[2] * v[2];
    double b = u[0] * v[0] + u[1] * v[1] + u[2] * v[2];
    double c = u[0] * w[0] + u[1] * w[1] + u[2] * w[2];
    double f = v[0] * w[0] + v[1] * w[1] + v[2] * w[2];
    double denom = a * e - b * b, s, t;
    if (e > EPS) {
        s = denom > EPS ? clamp01((b * f - c * e) / denom) : 0.0;
        t = (b * s + f) / e;
    } else {
        s = a > EPS ? clamp01(-c / a) : 0.0;
        t = 0.0;
    }
    double tc = clamp01(t);
    if (t != tc) s = a > EPS ? clamp01((b * tc - c) / a) : 0.0;
    double gap[3], length2 = 0.0;
    for (int k = 0; k < 3; k++) {
        p[k] = a0[k] + s * u[k];
        q[k] = b0[k] + tc * v[k];
        gap[k] = p[k] - q[k];
        length2 += gap[k] * gap[k];
    }
    double length = sqrt(length2);
    if (length > EPS) {
        for (int k = 0; k < 3; k++) normal[k] = gap[k] / length;
    } else {
        normal[0] = 0.0; normal[1] = 0.0; normal[2] = 1.0;
    }
    return length - ra - rb;
}

/* Signed distances of N capsule pairs, (N, 3) segment ends and (N,) radii each; p, q, normal (N, 3). */
void mimic_capsule_distances(int64_t N, const double *a0, const double *a1, const double *ra, const double *b0,
                             const double *b1, const double *rb, double *distance, double *p, double *q,
                             double *normal) {
    for (int64_t n = 0; n < N; n++)
        distance[n] = capsule_pair(a0 + 3 * n, a1 + 3 * n, ra[n], b0 + 3 * n, b1 + 3 * n, rb[n], p + 3 * n,
                                   q + 3 * n, normal + 3 * n);
}

/* (T, P) signed distances of the geom pairs (P, 2) of (T, G, 3) world segment ends: exact wherever the
 * bound from the two bounding spheres (centre distance less both reaches) is at most `within`, that bound
 * elsewhere. */
void mimic_near_pair_distances(int64_t T, int64_t G, int64_t P, const double *start, const double *end,
                               const double *radius, const double *reach, const int64_t *pairs, double within,
                               double *distance) {
    double p[3], q[3], normal[3];
    for (int64_t t = 0; t < T; t++) {
        const double *s = start + 3 * G * t, *e = end + 3 * G * t;
        for (int64_t k = 0; k < P; k++) {
            int64_t i = pairs[2 * k], j = pairs[2 * k + 1];
            double d2 = 0.0;
            for (int c = 0; c < 3; c++) {
                double gap = 0.5 * (s[3 * i + c] + e[3 * i + c] - s[3 * j + c] - e[3 * j + c]);
                d2 += gap * gap;
            }
            double bound = sqrt(d2) - reach[i] - reach[j];
            distance[t * P + k] = bound > within ? bound
                : capsule_pair(s + 3 * i, e + 3 * i, radius[i], s + 3 * j, e + 3 * j, radius[j], p, q, normal);
        }
    }
}

/* World segment ends (T, G, 3) of G geoms on (T, B) body poses: geom g runs from start[g] to end[g] in the
 * frame of body geom_body[g]. */
void mimic_geoms_in_world(int64_t T, int64_t B, int64_t G, const double *body_pos, const double *body_quat,
                          const int64_t *geom_body, const double *start, const double *end, double *world_start,
                          double *world_end) {
    for (int64_t t = 0; t < T; t++) {
        for (int64_t g = 0; g < G; g++) {
            int64_t b = t * B + geom_body[g];
            const double *bp = body_pos + 3 * b, *bq = body_quat + 4 * b;
            to_world(bp, bq, start + 3 * g, world_start + 3 * (t * G + g));
            to_world(bp, bq, end + 3 * g, world_end + 3 * (t * G + g));
        }
    }
}

/* World angular velocity (T, N, 3) of N wxyz orientation tracks (T, N, 4), frames first: over each frame's
 * neighbours (one-sided at the ends, as np.gradient), the relative rotation q(t+1) q(t-1)^-1, taken the short
 * way round, as a rotation vector per unit time: 2 atan2(|v|, w) v / |v| / span. Each track is first made
 * sign-continuous (q and -q are one orientation; a sign flip between frames is not a turn). work: 4 N T. */
void mimic_angular_velocity(int64_t T, int64_t N, const double *quat, double dt, double *out, double *work) {
    for (int64_t n = 0; n < N; n++) {
        double sign = 1.0;
        for (int64_t t = 0; t < T; t++) {
            const double *q = quat + 4 * (t * N + n);
            double *c = work + 4 * (t * N + n);
            if (t > 0) {
                const double *p = work + 4 * ((t - 1) * N + n);
                if (sign * (q[0] * p[0] + q[1] * p[1] + q[2] * p[2] + q[3] * p[3]) < 0) sign = -sign;
            }
            for (int k = 0; k < 4; k++) c[k] = sign * q[k];
        }
    }
    for (int64_t t = 0; t < T; t++) {
        int64_t next = t + 1 < T ? t + 1 : t, prev = t > 0 ? t - 1 : t;
        double span = (double)(next - prev) * dt;
        for (int64_t n = 0; n < N; n++) {
            double *w = out + 3 * (t * N + n);
            if (span <= 0) { w[0] = w[1] = w[2] = 0.0; continue; }
            const double *a = work + 4 * (next * N + n), *b = work + 4 * (prev * N + n);
            double conj[4] = {b[0], -b[1], -b[2], -b[3]}, rel[4];
            quat_mul(a, conj, rel);
            if (rel[0] < 0) for (int k = 0; k < 4; k++) rel[k] = -rel[k];
            double sin_half = sqrt(rel[1] * rel[1] + rel[2] * rel[2] + rel[3] * rel[3]);
            double wr = rel[0] > 1.0 ? 1.0 : rel[0];
            double scale = sin_half > 1e-12 ? 2.0 * atan2(sin_half, wr) / sin_half : 2.0;
            for (int k = 0; k < 3; k++) w[k] = rel[k + 1] * scale / span;
        }
    }
}

/* The robot's collision geometry and the constraint settings (retarget/constraints.py gives the math). */
typedef struct {
    const int64_t *geom_body;
    const double *start, *end, *radius;
    const int64_t *pairs;    /* (P, 2) geoms checked for self-collision */
    const uint8_t *mask;     /* (B, J) 1 where hinge j moves body b */
    const uint8_t *yielding; /* (C,) chains that move out of the way of the others */
    double weight, stride;
} Collision;

/* Rows of one constraint place, appended per chain (rows of chain c at row_jac + c cap 64, stride n_c). */
typedef struct {
    int64_t cap, *count, *frame; /* count (C,); frame (C, cap): the frame each row acts on */
    double *jac, *err;           /* (C, cap, 64) and (C, cap) */
} Rows;

/* rate[a] += sign * (the rate at which hinge a of chain c moves `point` on `body` along dir):
 * axis . (point x dir) + dir . (origin x axis), where the hinge moves the body. */
static void add_rates(double *rate, const Chains *ch, int64_t c, int64_t J, const double *origin, const double *hinge,
                      const uint8_t *mask, int64_t body, const double *point, const double *dir, double sign) {
    int64_t n = ch->joint_start[c + 1] - ch->joint_start[c];
    const int64_t *js = ch->joints + ch->joint_start[c];
    double pxu[3] = {point[1] * dir[2] - point[2] * dir[1], point[2] * dir[0] - point[0] * dir[2],
                     point[0] * dir[1] - point[1] * dir[0]};
    for (int64_t a = 0; a < n; a++) {
        int64_t j = js[a];
        if (!mask[body * J + j]) continue;
        const double *ax = hinge + 3 * j, *o = origin + 3 * j;
        double oxa[3] = {o[1] * ax[2] - o[2] * ax[1], o[2] * ax[0] - o[0] * ax[2], o[0] * ax[1] - o[1] * ax[0]};
        rate[a] += sign * (ax[0] * pxu[0] + ax[1] * pxu[1] + ax[2] * pxu[2] + dir[0] * oxa[0] + dir[1] * oxa[1] +
                           dir[2] * oxa[2]);
    }
}

static int chain_moves_body(const Chains *ch, int64_t c, int64_t J, const uint8_t *mask, int64_t body) {
    for (int64_t k = ch->joint_start[c]; k < ch->joint_start[c + 1]; k++)
        if (mask[body * J + ch->joints[k]]) return 1;
    return 0;
}

static double *new_row(Rows *rows, const Chains *ch, int64_t c, int64_t t, double **err) {
    if (rows->count[c] >= rows->cap) return NULL;
    int64_t r = rows->count[c]++, n = ch->joint_start[c + 1] - ch->joint_start[c];
    rows->frame[c * rows->cap + r] = t;
    *err = rows->err + c * rows->cap + r;
    double *jac = rows->jac + c * rows->cap * 64 + r * n;
    memset(jac, 0, sizeof(double) * (size_t)n);
    return jac;
}

/* Whether chain c can change the distance between bodies bi and bj: one of its hinges moves one and not the
 * other (a waist that turns both legs together cannot part the feet). Not when it is held (held[c], held may
 * be NULL) while `free` other chains that are not can: a leg on a planted foot leaves the pair to them. */
static int pair_mover(const Chains *ch, int64_t c, int64_t J, const Collision *col, int64_t bi, int64_t bj,
                      const uint8_t *held, int64_t free) {
    int parts = 0;
    for (int64_t k = ch->joint_start[c]; k < ch->joint_start[c + 1] && !parts; k++)
        parts = col->mask[bi * J + ch->joints[k]] != col->mask[bj * J + ch->joints[k]];
    return parts && !(held && held[c] && free);
}

/* Self-collision at one place: geoms of `pair` at a frame's pose keep a distance >= clearance. Returns what is
 * missing (clearance - distance); with rows, a violated place gives each chain that moves it a row: the rate
 * of the distance (p's rate along n minus q's), asked for min(missing, stride) shared among the movers (only
 * the yielding chains when one of them moves it). A chain `held` at the frame (a leg on a planted foot; NULL:
 * none) is no mover when another chain moves the pair. */
static double self_place(const double *body_pos, const double *body_quat, const double *origin, const double *hinge,
                         int64_t J, const Chains *ch, const Collision *col, const uint8_t *held, int64_t pair,
                         double clearance, int64_t t, Rows *rows) {
    int64_t g[2] = {col->pairs[2 * pair], col->pairs[2 * pair + 1]};
    double ends[4][3], p[3], q[3], normal[3];
    for (int k = 0; k < 2; k++) {
        int64_t b = col->geom_body[g[k]];
        to_world(body_pos + 3 * b, body_quat + 4 * b, col->start + 3 * g[k], ends[2 * k]);
        to_world(body_pos + 3 * b, body_quat + 4 * b, col->end + 3 * g[k], ends[2 * k + 1]);
    }
    double missing = clearance - capsule_pair(ends[0], ends[1], col->radius[g[0]], ends[2], ends[3],
                                              col->radius[g[1]], p, q, normal);
    if (!rows || missing <= 0) return missing;
    int64_t bi = col->geom_body[g[0]], bj = col->geom_body[g[1]], movers = 0, yielders = 0, free_movers = 0;
    for (int64_t c = 0; c < ch->C; c++)
        free_movers += pair_mover(ch, c, J, col, bi, bj, NULL, 0) && !(held && held[c]);
    for (int64_t c = 0; c < ch->C; c++) {
        int moves = pair_mover(ch, c, J, col, bi, bj, held, free_movers);
        movers += moves;
        yielders += moves && col->yielding[c];
    }
    double share = 1.0 / (double)(yielders ? yielders : (movers ? movers : 1));
    for (int64_t c = 0; c < ch->C; c++) {
        if (!pair_mover(ch, c, J, col, bi, bj, held, free_movers) || (yielders && !col->yielding[c])) continue;
        double *err, *jac = new_row(rows, ch, c, t, &err);
        if (!jac) continue;
        add_rates(jac, ch, c, J, origin, hinge, col->mask, bi, p, normal, 1.0);
        add_rates(jac, ch, c, J, origin, hinge, col->mask, bj, q, normal, -1.0);
        int64_t n = ch->joint_start[c + 1] - ch->joint_start[c];
        for (int64_t a = 0; a < n; a++) jac[a] *= col->weight;
        *err = (missing < col->stride ? missing : col->stride) * share * col->weight;
    }
    return missing;
}

/* Floor at one place: the lowest surface point of `geom` (its lower axis end, a radius down) keeps z >=
 * clearance. Returns what is missing; with rows, a violated place gives each chain that moves the geom a
 * row: that end's rate along +z, asked for min(missing, stride). */
static double floor_place(const double *body_pos, const double *body_quat, const double *origin, const double *hinge,
                          int64_t J, const Chains *ch, const Collision *col, int64_t geom, double clearance, int64_t t,
                          Rows *rows) {
    int64_t b = col->geom_body[geom];
    double a0[3], a1[3], up[3] = {0.0, 0.0, 1.0};
    to_world(body_pos + 3 * b, body_quat + 4 * b, col->start + 3 * geom, a0);
    to_world(body_pos + 3 * b, body_quat + 4 * b, col->end + 3 * geom, a1);
    const double *low = a0[2] <= a1[2] ? a0 : a1;
    double missing = clearance - (low[2] - col->radius[geom]);
    if (!rows || missing <= 0) return missing;
    for (int64_t c = 0; c < ch->C; c++) {
        if (!chain_moves_body(ch, c, J, col->mask, b)) continue;
        double *err, *jac = new_row(rows, ch, c, t, &err);
        if (!jac) continue;
        add_rates(jac, ch, c, J, origin, hinge, col->mask, b, low, up, 1.0);
        int64_t n = ch->joint_start[c + 1] - ch->joint_start[c];
        for (int64_t a = 0; a < n; a++) jac[a] *= col->weight;
        *err = (missing < col->stride ? missing : col->stride) * col->weight;
    }
    return missing;
}

/* What N places (kind 0: self-collision pairs, 1: floor geoms) at frames `frame` of (T, B) poses and (T, J)
 * hinge frames miss, into missing (N,), and with rows not NULL their rows per chain. */
void mimic_constraint_rows(int64_t N, int64_t kind, const int64_t *frame, const int64_t *item, const double *clearance,
                           int64_t B, int64_t J, const double *body_pos, const double *body_quat, const double *origin,
                           const double *hinge, const Chains *ch, const Collision *col, double *missing, Rows *rows) {
    if (rows) memset(rows->count, 0, sizeof(int64_t) * (size_t)ch->C);
    for (int64_t n = 0; n < N; n++) {
        int64_t t = frame[n];
        const double *bp = body_pos + 3 * B * t, *bq = body_quat + 4 * B * t, *o = origin + 3 * J * t,
                     *h = hinge + 3 * J * t;
        missing[n] = kind == 0 ? self_place(bp, bq, o, h, J, ch, col, NULL, item[n], clearance[n], t, rows)
                               : floor_place(bp, bq, o, h, J, ch, col, item[n], clearance[n], t, rows);
    }
}

/* Every constraint place of one frame (self-collision places s0 .. s1, floor places f0 .. f1) at the frame's
 * pose, their rows into `rows`; returns the most any place misses its bound by (0 when all hold). */
static double frame_places(const Frame *f, int64_t J, const Chains *ch, const Collision *col, const uint8_t *held,
                           int64_t s0, int64_t s1, const int64_t *self_pair, const double *self_clear, int64_t f0,
                           int64_t f1, const int64_t *floor_geom, const double *floor_clear, Rows *rows) {
    double worst = 0.0;
    memset(rows->count, 0, sizeof(int64_t) * (size_t)ch->C);
    for (int64_t k = s0; k < s1; k++) {
        double m = self_place(f->body_pos, f->body_quat, f->origin, f->hinge, J, ch, col, held, self_pair[k],
                              self_clear[k], 0, rows);
        if (m > worst) worst = m;
    }
    for (int64_t k = f0; k < f1; k++) {
        double m = floor_place(f->body_pos, f->body_quat, f->origin, f->hinge, J, ch, col, floor_geom[k],
                               floor_clear[k], 0, rows);
        if (m > worst) worst = m;
    }
    return worst;
}

/* The frames near a constraint solved again with it, each on its own (retarget/physical.py): from its plain
 * solution `reference` (F, J), in rounds of `round` constrained steps (the posture pulls toward the reference;
 * only the chains with rows step), until every place of the frame misses its bound by at most `settled` or
 * `iterations` steps are done. The places of frame i are self_start[i] .. self_start[i + 1] of self_pair and
 * self_clear, and likewise for the floor; held (F, C) or NULL: the chains held at each frame (self_place). q_out (F, J) and the bodies there (F, B, 3|4). Returns 0, or -1
 * when out of memory. */
int64_t mimic_refine(int64_t F, const int64_t *frames, const Tree *tree, const Tasks *tasks, const Chains *ch,
                     const Collision *col, const uint8_t *held, const double *reference, const int64_t *self_start,
                     const int64_t *self_pair, const double *self_clear, const int64_t *floor_start,
                     const int64_t *floor_geom, const double *floor_clear, int64_t iterations, int64_t round,
                     double settled, int64_t capacity, double *q_out, double *body_pos_out, double *body_quat_out) {
    int64_t J = tree->J, B = tree->B, C = ch->C;
    Frame f;
    Rows rows = {capacity, malloc(sizeof(int64_t) * (size_t)C), malloc(sizeof(int64_t) * (size_t)(C * capacity + 1)),
                 malloc(sizeof(double) * (size_t)(C * capacity * 64 + 1)),
                 malloc(sizeof(double) * (size_t)(C * capacity + 1))};
    if (!rows.count || !rows.frame || !rows.jac || !rows.err || !frame_alloc(&f, tree, tasks, capacity)) {
        free(rows.count); free(rows.frame); free(rows.jac); free(rows.err);
        return -1;
    }
    for (int64_t i = 0; i < F; i++) {
        int64_t t = frames[i];
        double *q = q_out + J * i;
        const double *ref = reference + J * i;
        memcpy(q, ref, sizeof(double) * (size_t)J);
        for (int64_t it = 0;; it++) {
            frame_pose_and_errors(&f, tree, tasks, t, q);
            if (it == iterations) break;
            double worst = frame_places(&f, J, ch, col, held ? held + C * i : NULL, self_start[i], self_start[i + 1],
                                        self_pair, self_clear, floor_start[i], floor_start[i + 1], floor_geom,
                                        floor_clear, &rows);
            if (it > 0 && it % round == 0 && worst <= settled) break;
            for (int64_t c = 0; c < C; c++)
                if (rows.count[c] > 0)
                    frame_chain_step(&f, tasks, ch, c, J, q, ref, rows.count[c], rows.jac + c * capacity * 64,
                                     rows.err + c * capacity);
        }
        memcpy(body_pos_out + 3 * B * i, f.body_pos, sizeof(double) * (size_t)(3 * B));
        memcpy(body_quat_out + 4 * B * i, f.body_quat, sizeof(double) * (size_t)(4 * B));
    }
    free(rows.count); free(rows.frame); free(rows.jac); free(rows.err); free(f.block);
    return 0;
}

static inline int is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

static inline int is_number_char(char c) {
    return (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E';
}

/* A table of decimal numbers, `width` per line, separated by blanks (sep ' ') or by commas with optional
 * blanks around them (sep ','), into out (at most max_rows rows); blank lines are skipped. Returns the rows
 * read, or -1 at the first thing that is not plainly such a table (a short line, a stray character, a
 * number written as nan, inf or hex, too many rows): the caller's slower reader then says what is wrong.
 * strtod rounds correctly, as Python's float() does, so the values are the same bits. */
int64_t mimic_parse_table(const char *text, int64_t length, char sep, int64_t width, int64_t max_rows,
                          double *out) {
    const char *c = text, *stop = text + length;
    int64_t rows = 0;
    while (c < stop) {
        while (c < stop && is_blank(*c)) c++;
        if (c < stop && *c == '\n') { c++; continue; }
        if (c >= stop) break;
        if (rows == max_rows) return -1;
        for (int64_t k = 0; k < width; k++) {
            if (k > 0 && sep == ',') {
                if (c >= stop || *c != ',') return -1;
                c++;
                while (c < stop && is_blank(*c)) c++;
            }
            const char *start = c;
            while (c < stop && is_number_char(*c)) c++;
            if (c == start || c - start > 64) return -1;
            char token[65];
            memcpy(token, start, (size_t)(c - start));
            token[c - start] = '\0';
            char *end;
            out[rows * width + k] = strtod(token, &end);
            if (end != token + (c - start)) return -1;
            while (c < stop && is_blank(*c)) c++;
        }
        if (c < stop && *c != '\n') return -1;
        rows++;
    }
    return rows;
}

static struct PyModuleDef kernels_module = {PyModuleDef_HEAD_INIT, "_kernels", NULL, -1, NULL};

PyMODINIT_FUNC PyInit__kernels(void) { return PyModule_Create(&kernels_module); }
