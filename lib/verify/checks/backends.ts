/** backends: each backend URL given answers as the demo backend on its own, skipping nginx. */
import { defineCheck } from './observations';

export const backends = defineCheck(
  {
    id: 'backends',
    title: 'every backend answers on its own address',
    diagnoses: [
      'a backend is down, or its security group does not admit this caller',
    ],
  },
  (o) => {
    const { id, title } = backends;
    if (o.directBackends.length === 0) {
      return {
        id,
        title,
        status: 'not-applicable',
        evidence: ['no direct backend URLs given'],
      };
    }
    const evidence = o.directBackends.map(
      (b) => `${b.url}: ${b.name ? `answers as ${b.name}` : b.error}`,
    );
    const down = o.directBackends.filter((b) => !b.name);
    if (down.length === 0) return { id, title, status: 'pass', evidence };
    const diagnosis = `${down.map((b) => b.url).join(', ')} does not answer directly: the backend is down or its security group does not admit this caller`;
    return { id, title, status: 'fail', evidence, diagnosis };
  },
);
