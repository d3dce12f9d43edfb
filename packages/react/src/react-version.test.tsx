import { render } from '@testing-library/react';
import { version } from 'react';
import { version as domVersion } from 'react-dom';
import { expect, it } from 'vitest';

// The suite runs twice: here under React 19 and in tests/react-18 under React 18, which sets
// STEWARD_EXPECT_REACT. This proves each run really renders with the React it claims to.
it('renders with the expected major version of React and react-dom', () => {
  const major = process.env.STEWARD_EXPECT_REACT ?? '19';
  expect(version.split('.')[0]).toBe(major);
  expect(domVersion.split('.')[0]).toBe(major);
  const { container } = render(<p>{version}</p>);
  expect(container.textContent).toBe(version);
});
