from signer_agent.cli import main

main()
