"""We-Math (We-Math/We-Math): testmini 1,740 questions scored over 525 multi-step problems."""
