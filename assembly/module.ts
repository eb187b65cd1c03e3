// Facts about this build that TypeScript asks for at load time.

/** Which build this is: 1 = relaxed SIMD (FMA), 0 = plain SIMD. */
export function buildHasFma(): i32 {
  return ASC_FEATURE_RELAXED_SIMD ? 1 : 0;
}

/** First byte TypeScript may allocate from: everything below belongs to the module's static data. */
export function heapBase(): usize {
  return __heap_base;
}
