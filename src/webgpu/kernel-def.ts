// How a WGSL kernel is declared: its storage buffers and scalar uniforms are listed once, and the
// binding header is generated from that list, so the TypeScript side (which fills bind groups and
// the uniform block in the same order) and the shader can never disagree on a binding number.

export type Access = 'read' | 'read_write';
export type ScalarType = 'u32' | 'i32' | 'f32';

export interface KernelDef {
  name: string;
  /** Storage buffers in binding order: [name, access, element type]. */
  buffers: [string, Access, 'f32' | 'i32'][];
  /** Uniform scalars in order (struct U, binding buffers.length): [name, type]. */
  uniforms: [string, ScalarType][];
  /** Threads per workgroup along x (1-D kernels) or [x, y] (tiled kernels). */
  workgroup: number | [number, number];
  /** The body: helper functions and `fn main(...)` (uses `u.<name>` and the buffer names). */
  body: string;
}

/** The full WGSL module of a kernel. */
export function wgsl(k: KernelDef): string {
  const buffers = k.buffers.map(([name, access, type], i) =>
    `@group(0) @binding(${i}) var<storage, ${access}> ${name}: array<${type}>;`).join('\n');
  const fields = k.uniforms.length ? k.uniforms.map(([n, t]) => `  ${n}: ${t},`).join('\n') : '  _unused: u32,';
  const wg = Array.isArray(k.workgroup) ? k.workgroup.join(', ') : String(k.workgroup);
  return `${buffers}
struct U {
${fields}
}
@group(0) @binding(${k.buffers.length}) var<uniform> u: U;
const WG_SIZE: vec2u = vec2u(${Array.isArray(k.workgroup) ? k.workgroup.join('u, ') + 'u' : `${k.workgroup}u, 1u`});
${k.body.replace('@compute', `@compute @workgroup_size(${wg})`)}`;
}

/**
 * The flat index of a 1-D kernel's thread when the grid is folded into 2-D (a dimension holds at
 * most 65535 workgroups): dispatch1d() in context.ts picks the fold, this undoes it.
 */
export const FLAT_INDEX = `fn flatIndex(gid: vec3u, nwg: vec3u) -> u32 { return gid.x + gid.y * nwg.x * WG_SIZE.x; }`;
