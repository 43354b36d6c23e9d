import { test } from 'tap';
import { parseBearer } from '../src/index.js';

test('parseBearer: the scheme name in any case (RFC 7235), one or more spaces, then the token', async (t) => {
  for (const value of ['Bearer abc.def.ghi', 'bearer abc.def.ghi', 'BEARER abc.def.ghi', 'bEaReR abc.def.ghi', 'Bearer   abc.def.ghi']) {
    t.equal(parseBearer(value), 'abc.def.ghi', value);
  }
  // The token's syntax is the verifier's to judge: the parser hands over whatever follows.
  t.equal(parseBearer('Bearer a b'), 'a b');
  for (const value of [undefined, '', 'Bearer', 'Bearer ', 'Bearer    ', 'Basic dXNlcjpwYXNz', 'Bearerabc.def.ghi', 'Bearer\tabc', ' Bearer abc', 'Token abc']) {
    t.equal(parseBearer(value), undefined, JSON.stringify(value));
  }
});
