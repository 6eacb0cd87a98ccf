"""billing-station: the console script, the entry point that turns outcomes into text and
exit codes. (The portal, an entry point beside it, turns them into HTML.)"""
