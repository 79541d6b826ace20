// Must stay the first import: it configures zod before @simscope/protocol builds its schemas.
import './zod-jitless.js';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app.js';
import { SharePage } from './pages/share-page.js';
import { applyTheme, storedTheme, takeTokenFromLink } from './session.js';
import './styles.css';

takeTokenFromLink();
applyTheme(storedTheme());
const root = document.getElementById('root');
if (!root) throw new Error('index.html has no element with id root');
createRoot(root).render(
  <StrictMode>{window.location.pathname === '/share' ? <SharePage /> : <App />}</StrictMode>,
);
