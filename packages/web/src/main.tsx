// Must stay the first import: it configures zod before @simscope/protocol builds its schemas.
import './zod-jitless.js';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app.js';
import { applyTheme, storedTheme, takeTokenFromLink } from './session.js';
import './styles.css';

takeTokenFromLink();
applyTheme(storedTheme());
createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
