export { compileFilter, MAX_EXPRESSION_LENGTH, type CompileFilterOptions } from './compile.js';
export type { FieldSpec, FieldType, ScalarType } from './field-spec.js';
export { FILTER_ERROR_PREFIX } from './errors.js';
export { MAX_DEPTH } from './parser.js';
export { MAX_PATTERN_LENGTH } from './regex.js';
