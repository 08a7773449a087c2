import { backends } from '../../../lib/verify/checks/backends';
import { observe } from './fixtures';

describe('backends', () => {
  test('passes when every backend URL answers as a demo backend', () => {
    const o = observe({
      directBackends: [
        { url: 'http://192.0.2.9:3000/', name: 'app-a' },
        { url: 'http://192.0.2.10:3000/', name: 'app-b' },
      ],
    });
    expect(backends(o)).toMatchObject({
      status: 'pass',
      evidence: [
        'http://192.0.2.9:3000/: answers as app-a',
        'http://192.0.2.10:3000/: answers as app-b',
      ],
    });
  });

  test('fails naming the backend that does not answer', () => {
    const o = observe({
      directBackends: [
        { url: 'http://192.0.2.9:3000/', name: 'app-a' },
        { url: 'http://192.0.2.10:3000/', error: 'ECONNREFUSED' },
      ],
    });
    expect(backends(o)).toMatchObject({
      status: 'fail',
      diagnosis:
        'http://192.0.2.10:3000/ does not answer directly: the backend is down or its security group does not admit this caller',
    });
  });

  test('is not applicable without backend URLs', () => {
    expect(backends(observe({})).status).toBe('not-applicable');
  });
});
