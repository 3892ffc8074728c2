// Entry: restore the session first (a small module that starts at once),
// and load the app (React and the pages) alongside it.
import { start } from './lib/session';
import './styles.css';

void start();

void import('./render').then(({ render }) => render());
