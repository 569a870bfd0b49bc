import { createContext, useContext } from 'react';
import { useStore } from 'zustand';
import type { UiState, UiStore } from './store';

export const StoreContext = createContext<UiStore | null>(null);

export function useUi<T>(selector: (state: UiState) => T): T {
  const store = useContext(StoreContext);
  if (!store) throw new Error('useUi outside <StoreContext.Provider>');
  return useStore(store, selector);
}
