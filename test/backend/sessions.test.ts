import { SessionStore } from '../../lib/backend/sessions';

describe('SessionStore', () => {
  test('forgets the least recently used session past its bound, so cookie-less load cannot grow memory', () => {
    const store = new SessionStore(2);
    const active = store.hit(undefined);
    const idle = store.hit(undefined);
    store.hit(`session=${active.id}`);
    store.hit(undefined);
    expect(store.hit(`session=${active.id}`)).toEqual({
      id: active.id,
      hits: 3,
      isNew: false,
    });
    expect(store.hit(`session=${idle.id}`)).toMatchObject({
      hits: 1,
      isNew: true,
    });
  });

  test('reads its cookie among others and ignores look-alike names', () => {
    const store = new SessionStore();
    const { id } = store.hit(undefined);
    expect(store.hit(`xsession=nope; session=${id}; other=1`)).toEqual({
      id,
      hits: 2,
      isNew: false,
    });
    expect(store.hit(`mysession=${id}`).isNew).toBe(true);
  });
});
