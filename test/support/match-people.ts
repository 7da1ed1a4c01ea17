// The people the matching tests identify: distinct, deterministic records (given name, surname, date
// of birth, email, address) that the blocking keys and the model compare. Each test makes its own
// look-alikes of them.

const GIVEN = ['olivia', 'noah', 'isla', 'jack', 'mia', 'leo', 'ruby', 'oscar', 'grace', 'henry', 'chloe', 'lucas'];
const SURNAMES = ['hartley', 'okafor', 'lindqvist', 'moreau', 'tanaka', 'brennan', 'castillo', 'novak', 'haddad', 'whitlock', 'ferreira', 'osei'];
const CITIES = ['leeds', 'york', 'bath', 'truro'];

/** Person i's Segment traits; `city` overrides the one the person lives in. */
export const matchPerson = (i: number, city: string = CITIES[i % CITIES.length]!) => ({
  firstName: GIVEN[i % GIVEN.length]!,
  lastName: SURNAMES[(i * 5 + Math.floor(i / GIVEN.length)) % SURNAMES.length]!,
  birthday: `19${60 + i}-0${1 + (i % 9)}-1${i % 10}`,
  email: `${GIVEN[i % GIVEN.length]}.${i}@mail.example`,
  address: { street: `${i + 3} station road`, postalCode: `${1000 + i * 37}`, city },
});
