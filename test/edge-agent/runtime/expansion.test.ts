/** `$(VAR)` expansion: the cases of Kubernetes' own expansion tests, plus the edges that differ from a shell. */
import { describe, expect, it } from 'vitest';
import { expand, mappingFor } from '../../../edge-agent/runtime/expansion.js';

const vars = new Map([
  ['VAR_A', 'A'],
  ['VAR_B', 'B'],
  ['VAR_C', 'C'],
  ['VAR_REF', '$(VAR_A)'],
  ['VAR_EMPTY', ''],
]);

describe('expand', () => {
  it.each([
    ['whole string', '$(VAR_A)', 'A'],
    ['repeat', '$(VAR_A)-$(VAR_A)', 'A-A'],
    ['beginning', '$(VAR_A)-1', 'A-1'],
    ['middle', '___$(VAR_B)___', '___B___'],
    ['end', '___$(VAR_C)', '___C'],
    ['compound', '$(VAR_A)_$(VAR_B)_$(VAR_C)', 'A_B_C'],
    ['escaped reference', '$$(VAR_B)_$(VAR_A)', '$(VAR_B)_A'],
    ['escaped dollar then reference', '$$$(VAR_A)', '$A'],
    ['two escapes', '$$$$(VAR_A)', '$$(VAR_A)'],
    ['lone escape', '$$', '$'],
    ['trailing $', 'foo$', 'foo$'],
    ['lone $', '$', '$'],
    ['undefined stays literal', '$(VAR_DNE)', '$(VAR_DNE)'],
    ['undefined among defined', '$(VAR_A)$(VAR_DNE)$(VAR_B)', 'A$(VAR_DNE)B'],
    ['no recursion', '$(VAR_REF)', '$(VAR_A)'],
    ['empty value', 'x$(VAR_EMPTY)y', 'xy'],
    ['unterminated reference', '$(VAR_A', '$(VAR_A'],
    ['unterminated after a reference', '$(VAR_A)$(VAR_B', 'A$(VAR_B'],
    ['shell syntax is not ours', '${VAR_A} $VAR_A', '${VAR_A} $VAR_A'],
    ['empty name', '$()', '$()'],
    ['non-ASCII around a reference', 'é$(VAR_A)ü', 'éAü'],
    ['dollar before non-ASCII', '$é', '$é'],
  ])('%s: %s', (_name, input, want) => {
    expect(expand(input, mappingFor(vars))).toBe(want);
  });
});
